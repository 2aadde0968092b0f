"""//bench:int8 runs end to end with tiny counts and writes well-formed JSON and a table (no timing checks)."""
import json
import os

from tests import testing


def test_int8_writes_json_and_table(tmp_path):
    result = testing.run(os.path.join(testing.ROOT, "bench", "int8"), "--crops", "4", "--rounds", "1", "--iters", "2",
                         "--output_dir", str(tmp_path), "--nofast_run", "--nonchw88", "--calibration_photos", "4",
                         timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads((tmp_path / "int8.json").read_text())
    assert report["crops"] == 4 and report["calibration_inputs"] > 0
    methods = ["minmax", "percentile", "cle", "bias", "cle_bias"]
    assert [c["calibration"] for c in report["calibrations"]] == methods
    for calibration in report["calibrations"]:
        assert 0 <= calibration["crops_top1_agree"] <= 4
        assert {p["photo"] for p in calibration["photos"]} == {"cat.jpg", "coffee.jpg"}
    assert not {"chelsea.png", "coffee.png"} & set(report["calibration_photos"])  # never the test photos
    precisions = {row["precision"] for row in report["rows"]}
    assert precisions == {"fp32", "int8"}
    for row in report["rows"]:
        assert row["median_ms"] is None or row["median_ms"] > 0
    assert (tmp_path / "int8.md").read_text().count("| int8 |") == 1 + len(methods)  # default + each method
    assert (tmp_path / "int8.md").read_text().count("| fp32 |") == 1  # no fast-run, no NCHW88 here


if __name__ == "__main__":
    testing.main(__file__)
