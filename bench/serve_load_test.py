"""//bench:serve_load end to end, short: every phase runs (baseline, a few low-load pairs, one
capacity round, one rate, overload, the bad-upload corpus once) against the real server, over
HTTP and over gRPC, and the report holds what docs/serving.md quotes."""
import json
import os
import subprocess
import tempfile

from tests import testing

SERVE_LOAD = os.path.join(testing.ROOT, "bench", "serve_load")


def short_run(*flags, name="serve_load_lite"):
    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, RUNFILES_DIR=os.path.dirname(testing.ROOT))
        result = subprocess.run([SERVE_LOAD, "--model", testing.LITE0, "--rates", "0.5", "--duration_s", "2",
                                 "--overload_s", "3", "--baseline_s", "1", "--low_load_pairs", "5",
                                 "--capacity_rounds", "1", "--capacity_s", "1", "--output_dir", out, *flags],
                                env=env, capture_output=True, text=True, timeout=240)
        assert result.returncode == 0, result.stderr[-2000:]
        report = json.load(open(os.path.join(out, name + ".json")))
        assert open(os.path.join(out, name + ".md")).read().startswith("# //bench:serve_load")
    return report


def test_a_short_run_reports_every_phase():
    report = short_run("--bad_uploads", "1")
    verdict = report["verdict"]
    assert verdict["server_exit"] == 0
    assert report["runs"][0]["status_counts"].get("200", 0) > 0
    assert verdict["low_load_paired"]["server_p50_ms"] > 0 and verdict["low_load_paired"]["in_process_p50_ms"] > 0
    assert verdict["capacity_paired"]["rounds"][0]["server_goodput_per_s"] > 0
    assert verdict["overload"]["5xx"] == 0  # the server refuses with 429, never 5xx
    assert verdict["bad_uploads"]["bad_unexpected"] == []  # every bad upload got its 4xx
    assert verdict["bad_uploads"]["bad_requests"] >= 15


def test_the_same_load_over_grpc():
    report = short_run("--protocol", "grpc", name="serve_load_lite_grpc")
    verdict = report["verdict"]
    assert report["protocol"] == "grpc" and verdict["server_exit"] == 0
    assert report["runs"][0]["status_counts"].get("200", 0) > 0
    assert verdict["low_load_paired"]["server_p50_ms"] > 0
    assert verdict["capacity_paired"]["rounds"][0]["server_goodput_per_s"] > 0
    assert verdict["overload"]["5xx"] == 0 and "bad_uploads" not in verdict


if __name__ == "__main__":
    testing.main(__file__)
