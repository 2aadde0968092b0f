"""A short fuzz run of each kind (sidecar, packed, encrypted): no hang, no death by signal, no
unclean exit in either CLI."""
from absl import flags

from tests import fuzz_models, testing

# A smoke run (~60 s); the recorded runs of 1,000 sidecar and 200 packed and 200 encrypted mutants
# are the coverage (docs/reliability.md).
SHORT_RUN = {"sidecar": 20, "packed": 12, "encrypted": 12}


def test_short_fuzz():
    flags.FLAGS(["fuzz_models_test", "--timeout", "120"])
    for kind, count in SHORT_RUN.items():
        report = fuzz_models.fuzz(count, seed=1234, jobs=2, kinds=[kind], progress=False)
        print(kind, report["tally"])
        for cli, tally in report["tally"][kind].items():
            assert sum(tally.values()) == count
            assert tally["signal"] == 0 and tally["hang"] == 0 and tally["unclean"] == 0, \
                (kind, cli, report["problems"][:3])
            assert tally["clean_error"] > 0  # the damage did reach a reader (ours or Lite's) and was refused


if __name__ == "__main__":
    testing.main(__file__, "-s")
