"""The Lite settings choice (tuning.py) on the tiny model: every candidate is checked in a child
process, what is recorded is a valid contract "lite" section, a chosen fast-run cache is left for
export with its digest, and a candidate that hangs (NCHW88 on some CPUs) costs only its timeout."""
import os
import sys


import pytest  # noqa: E402

from mgedeploy import contract  # noqa: E402
from mgedeploy.lite import options, tuning  # noqa: E402
from mgedeploy.models import tiny  # noqa: E402

TOLERANCE = 1e-4  # export's (exporting/exporter.py)
# Short: the tiny model loads and runs in well under a second; a deadlock shows as this running out.
TIMEOUTS = {"nchw": 120, "nchw88": 20}


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    directory = tmp_path_factory.mktemp("tiny")
    net = tiny.build()
    path = str(directory / "tiny.mge")
    tiny.dump(net, path)
    sample = tiny.sample_input()
    return path, sample, tiny.eager_softmax(net, sample)


def choose(tiny_model, mode):
    path, sample, eager = tiny_model
    lines = []
    settings = tuning.choose(path, tiny.INPUT_NAME, sample, eager, TOLERANCE, path + ".fastrun", mode=mode,
                             say=lines.append, timeouts=TIMEOUTS)
    print("\n".join(lines))
    return settings, lines


def valid_section(settings):
    """The section validates inside a contract (as export writes it)."""
    info = {"format": contract.FORMAT, "model": "tiny", "input": {"name": "data", "shape": [1, 3, 8, 8]},
            "output": {"shape": [1, 10]}, "preprocess": {"color": "RGB", "resize_short": 8, "crop": 8,
                                                         "mean": [0, 0, 0], "std": [1, 1, 1]},
            "labels": [str(i) for i in range(10)], "weights": {}, "lite": settings,
            "mge_file": {"size": 1, "sha256": "0" * 64}}
    contract.validate(info, "tiny.mge.json")


def test_auto_checks_every_candidate(tiny_model):
    settings, lines = choose(tiny_model, "auto")
    valid_section(settings)
    assert settings["cpu"] == options.cpu_fingerprint()
    for name in options.CANDIDATES:
        assert any(line.strip().startswith(name + " ") for line in lines), lines
    if settings.get("fast_run_cache"):  # nchw won: its cache is left for export, with its digest
        cache_tmp = tiny_model[0] + ".fastrun.tmp"
        assert settings["fast_run_cache_sha256"] == contract.file_digest(cache_tmp)
        os.remove(cache_tmp)
    assert "chosen:" in lines[-1] or "no candidate" in lines[-1]


def test_fixed_is_not_timed(tiny_model):
    settings, lines = choose(tiny_model, "fixed:nchw")
    valid_section(settings)
    assert settings["median_ms"] == {} and settings["fast_run_cache"] == "tiny.mge.fastrun"
    assert not any("medians" in line for line in lines)
    os.remove(tiny_model[0] + ".fastrun.tmp")


def test_none_records_nothing(tiny_model):
    assert choose(tiny_model, "none") == ({}, [])


def test_unknown_mode(tiny_model):
    with pytest.raises(ValueError, match="auto, none, fixed:nchw, fixed:nchw88"):
        choose(tiny_model, "fast")


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider"]))
