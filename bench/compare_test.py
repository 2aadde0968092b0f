"""The benchmark tools run and write well-formed results (tiny iteration counts: numbers come from
recorded benchmark runs, never from tests)."""
import json
import os

import pytest

from bench import machine
from mgedeploy import contract
from tests import fixtures, testing

ROOT = testing.ROOT
MODEL = fixtures.SNETV2
STAT_KEYS = ("load_ms", "min_ms", "median_ms", "p90_ms", "max_ms", "std_ms")
ROW_KEYS = {"model": str, "runtime": str, "precision": str, "options": str, "threads": int, "iters": int,
            **{k: float for k in STAT_KEYS}}


def run(*command):
    result = testing.run(*command, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


def check_stats(numbers):
    for key in STAT_KEYS:
        assert isinstance(numbers[key], float) and numbers[key] >= 0, key
    assert numbers["min_ms"] <= numbers["median_ms"] <= numbers["p90_ms"] <= numbers["max_ms"]


@pytest.mark.parametrize("runtime", ["lite", "eager", "onnxruntime"])
def test_py_benchmark_json(runtime):
    out = json.loads(run(os.path.join(ROOT, "py", "benchmark"), "-m", MODEL, "--runtime", runtime,
                         "--iters", "3", "--warmup", "0", "--json"))
    assert out["runtime"] in ("lite_py", "eager", "onnxruntime") and len(out["samples_ms"]) == 3
    check_stats(out)


def test_cc_benchmark_json_and_text():
    out = json.loads(run(os.path.join(ROOT, "cc", "benchmark"), MODEL, "--iters", "3", "--warmup", "0", "--json",
                         "--lite_options", "default", "--weight_preprocess", "--record_level", "1", "--threads", "2"))
    assert out["runtime"] == "lite_cc" and out["options"] == "weight_preprocess+record1" and out["threads"] == 2
    check_stats(out)
    text = run(os.path.join(ROOT, "cc", "benchmark"), MODEL, "--iters", "2")
    assert "median" in text and "load" in text


def test_nchw88_is_timed_only_where_its_probe_ran(tmp_path):
    runs, what = machine.nchw88_runs(MODEL)
    assert runs == (what == "ran"), what
    # A model that does not match its contract is refused before any child runs (how the probe's
    # failures and timeouts are reported: //py:tuning_test).
    broken = tmp_path / "broken.mge"
    broken.write_bytes(open(MODEL, "rb").read()[:4096])
    with open(MODEL + ".json") as f:
        (tmp_path / "broken.mge.json").write_text(f.read())
    with pytest.raises(contract.ContractError, match="does not match its contract"):
        machine.nchw88_runs(str(broken))


def test_compare_writes_json_table_and_chart(tmp_path):
    out_dir = tmp_path / "results"
    run(os.path.join(ROOT, "bench", "compare"), "--iters", "2", "--warmup", "0", "--repeats", "2",
        "--models", "snetv2_x100", "--threads", "1", "--output_dir", str(out_dir),
        "--fast_run_cache_dir", str(tmp_path / "cache"))
    report = json.loads((out_dir / "latest.json").read_text())
    assert report["macs"]["snetv2_x100"] == 145_814_296
    assert report["machine"]["cores"] >= 1 and report["machine"]["peak_gflops_per_core"] > 0
    runtimes = sorted(r["runtime"] for r in report["rows"])
    # Lite C++: default, fast-run, and NCHW88 where its child-process probe ran it on this CPU.
    lite_cc = 3 if machine.nchw88_runs(fixtures.SNETV2)[0] else 2
    assert runtimes == ["eager"] + ["lite_cc"] * lite_cc + ["lite_py", "onnxruntime"]
    for row in report["rows"]:
        for key, kind in ROW_KEYS.items():
            assert isinstance(row[key], kind), (key, row[key])
        assert row["precision"] == "fp32" and row["iters"] == 4 and len(row["round_medians_ms"]) == 2
        check_stats(row)
    table = (out_dir / "latest.md").read_text()
    assert table.count("| snetv2_x100 |") == len(report["rows"])
    assert (out_dir / "latest.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


if __name__ == "__main__":
    testing.main(__file__)
