"""A short fuzz run (20 mutants): no hang, no death by signal, no unclean exit in either CLI."""
from absl import flags

from tests import fuzz_models, testing

SHORT_RUN = 20  # a smoke run (~25 s); the recorded 1,000-mutant run is the coverage (docs/reliability.md)


def test_short_fuzz():
    flags.FLAGS(["fuzz_models_test", "--timeout", "120"])
    report = fuzz_models.fuzz(SHORT_RUN, seed=1234, jobs=2, progress=False)
    print(report["tally"])
    for cli, tally in report["tally"].items():
        assert sum(tally.values()) == SHORT_RUN
        assert tally["signal"] == 0 and tally["hang"] == 0 and tally["unclean"] == 0, (cli, report["problems"][:3])
        assert tally["clean_error"] > 0  # the damage did reach Lite and was refused


if __name__ == "__main__":
    testing.main(__file__, "-s")
