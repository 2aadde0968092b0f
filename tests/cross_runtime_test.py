"""C++ and Python agree: //cc:inference and //py:inference give the same --json records for both
test models on every photo, from the same input tensor; softmax_check passes; and the programs of
both languages run the same Lite library and print the same versions.

Tolerances: the two runtimes feed one Lite build the same tensor, so their outputs are expected to
be bit-identical (measured: max difference 0); the test allows 1e-6 on probabilities only so that
a float printing difference cannot fail it, and requires the same top-5 indices and names exactly.
Inputs: OpenCV 4.6 (Debian, C++) and 4.9 (opencv-python) decode and resize our photos identically
(measured 0.0); a newer OpenCV changing one rounding moves a pixel by one grey level, 1/57.12 after
normalisation, so inputs may differ by at most 1/57 before the output comparison decides.
"""
import glob
import json
import os
import re

import numpy as np
import pytest

from mgedeploy import contract, preprocess
from tests import testing
from tests.testing import LITE0, SNETV2, TESTDATA

PHOTOS = sorted(glob.glob(os.path.join(TESTDATA, "*.jpg")))
PROBABILITY_TOLERANCE = 1e-6
INPUT_TOLERANCE = 1.0 / 57.0


def records(program, model, *extra):
    result = testing.run(program, "-m", model, *[a for p in PHOTOS for a in ("-i", p)], "--json", *extra)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == len(PHOTOS)
    return lines


@pytest.mark.parametrize("model", [LITE0, SNETV2], ids=os.path.basename)
def test_same_records(model):
    cc, py = records("cc_inference", model), records("py_inference", model)
    worst = 0.0
    for a, b in zip(cc, py):
        assert a["image"] == b["image"] and a["model"] == b["model"]
        assert [(t["index"], t["name"]) for t in a["top"]] == [(t["index"], t["name"]) for t in b["top"]]
        worst = max([worst] + [abs(x["probability"] - y["probability"]) for x, y in zip(a["top"], b["top"])])
    print("%s: %d photos, max probability difference %.3g" % (os.path.basename(model), len(PHOTOS), worst))
    assert worst <= PROBABILITY_TOLERANCE


@pytest.mark.parametrize("model", [LITE0, SNETV2], ids=os.path.basename)
def test_same_input_tensor(model, tmp_path):
    info = contract.read(model)
    for photo in PHOTOS:
        dump = str(tmp_path / "input.bin")
        result = testing.run("cc_inference", model, photo, "--dump_input", dump)
        assert result.returncode == 0, result.stderr
        cc_input = np.fromfile(dump, dtype=np.float32)
        py_input = preprocess.load(photo, info["preprocess"]).ravel()
        assert cc_input.shape == py_input.shape
        diff = float(np.abs(cc_input - py_input).max())
        print("%s on %s: max input difference %.3g" % (os.path.basename(model), os.path.basename(photo), diff))
        assert diff <= INPUT_TOLERANCE


def test_fast_run_cache_from_the_contract(tmp_path):
    """Both programs read a fast-run cache the contract records (made here by //py:benchmark, which
    runs fast-run's search) and still agree: the cached kernels are exact."""
    model = testing.copy_model(SNETV2, str(tmp_path), "fast.mge")
    cache = str(tmp_path / "fast.mge.fastrun")
    result = testing.run("py_benchmark", "-m", model, "--lite_options", "default", "--fast_run_cache", cache,
                         "--iters", "1", "--warmup", "0", timeout=300)
    assert result.returncode == 0 and os.path.getsize(cache) > 0, result.stderr
    info = json.load(open(contract.path_for(model)))
    info["lite"] = {"weight_preprocess": True, "record_level": 1, "nchw88": False, "fast_run_cache": "fast.mge.fastrun",
                    "fast_run_cache_sha256": contract.file_digest(cache),
                    "cpu": __import__("mgedeploy.lite.options", fromlist=["x"]).cpu_fingerprint()}
    contract.write(info, contract.path_for(model))
    cc, py = records("cc_inference", model), records("py_inference", model)
    assert [[t["index"] for t in r["top"]] for r in cc] == [[t["index"] for t in r["top"]] for r in py]
    default = records("py_inference", model, "--lite_options", "default")
    worst = max(abs(x["probability"] - y["probability"]) for a, b in zip(py, default) for x, y in zip(a["top"], b["top"]))
    print("fast-run cache vs Lite defaults: max probability difference %.3g" % worst)
    assert worst <= 1e-5  # other kernels sum in another order: float32 rounding only
    # The benchmarks run with the contract's settings and must leave the model's cache as it was
    # (they once rewrote it after timing, and the next run refused it by its SHA-256).
    for program in testing.BENCHMARK:
        result = testing.run(program, "-m", model, "--iters", "2", "--warmup", "0")
        assert result.returncode == 0, result.stderr
    assert contract.file_digest(cache) == info["lite"]["fast_run_cache_sha256"]


def photo_folder(root):
    """50 images in nested folders — the photos re-encoded at other sizes and formats, and 6 broken
    files — plus files that are not images, which must be skipped."""
    import cv2

    from tests.testing import BAD

    sources = [cv2.imread(p) for p in PHOTOS]
    count = 0
    for i in range(44):
        image = sources[i % len(sources)]
        side = 64 + 23 * i
        scaled = cv2.resize(image, (side, max(8, side * image.shape[0] // image.shape[1])))
        folder = os.path.join(root, "set%d" % (i % 3), "sub" if i % 2 else "")
        os.makedirs(folder, exist_ok=True)
        cv2.imwrite(os.path.join(folder, "photo_%02d.%s" % (i, ("jpg", "png", "webp", "bmp")[i % 4])), scaled)
        count += 1
    broken = {"empty.jpg": b"", "notes.png": b"just text", "page.JPG": open(os.path.join(BAD, "page.html"), "rb").read(),
              "cut.png": open(os.path.join(BAD, "truncated.png"), "rb").read(),
              "small.gif": open(os.path.join(TESTDATA, "images", "small.gif"), "rb").read(),
              "bomb.png": open(os.path.join(BAD, "bomb30000.png"), "rb").read()}
    for name, data in broken.items():
        with open(os.path.join(root, "set1", name), "wb") as f:
            f.write(data)
        count += 1
    for name in ("README.txt", "labels.json", "set0/.hidden"):
        with open(os.path.join(root, name), "w") as f:
            f.write("not an image file name")
    return count


def test_folder_of_images(tmp_path):
    """A folder with 50 images, 6 of them broken: 50 JSON lines from each program, in the same order
    with the same content (the failures as {"image", "error"} records), exit status 1."""
    folder = str(tmp_path / "photos")
    expected = photo_folder(folder)
    assert expected == 50
    lines = {}
    for program in testing.INFERENCE:
        result = testing.run(program, "-m", SNETV2, "-i", folder, "--json", "--topk", "2")
        assert result.returncode == 1, result.stderr
        lines[program] = result.stdout.splitlines()
    assert lines["py_inference"] == lines["cc_inference"]
    records = [json.loads(line) for line in lines["py_inference"]]
    assert len(records) == expected
    assert [r["image"] for r in records] == sorted(r["image"] for r in records)
    assert sum("error" in r for r in records) == 6 and sum("top" in r for r in records) == 44
    print("%d records, identical from both programs; errors: %s" % (
        len(records), sorted(r["error"].split(": ", 1)[1] for r in records if "error" in r)))
    # The same model exported with a batch of 8: 8 images per pass (the last 2 of 44 padded), and
    # every answer equal to batch 1's within 1e-5 (one graph per image, kernels sum in another order).
    batched = os.path.join(TESTDATA, "snetv2_x100_b8.mge")
    for program in testing.INFERENCE:
        result = testing.run(program, "-m", batched, "-i", folder, "--json", "--topk", "2")
        assert result.returncode == 1, result.stderr
        worst = 0.0
        for one, eight in zip(records, map(json.loads, result.stdout.splitlines())):
            assert one.get("error") == eight.get("error") and one["image"] == eight["image"]
            if "top" in one:
                assert [t["index"] for t in one["top"]] == [t["index"] for t in eight["top"]]
                worst = max([worst] + [abs(a["probability"] - b["probability"]) for a, b in zip(one["top"], eight["top"])])
        print("%s: batch 8 vs batch 1, max probability difference %.3g" % (program, worst))
        assert worst <= 1e-5


@pytest.mark.parametrize("model", [LITE0, SNETV2], ids=os.path.basename)
@pytest.mark.parametrize("threads", ["1", "2"])
def test_softmax_check(model, threads):
    result = testing.run("softmax_check", model, "--threads", threads)
    assert result.returncode == 0, result.stderr
    assert re.match(r"SUM = (1\.0000|0\.9999)", result.stdout), result.stdout


def test_same_lite_and_versions():
    import megenginelite

    import mgedeploy

    lines = {}
    for program in testing.PROGRAMS:
        result = testing.run(program, "--version")
        assert result.returncode == 0, "%s --version: %s" % (program, result.stderr)
        lines[program] = result.stdout.strip()
    for program, line in lines.items():
        name = program.split("_", 1)[-1] if program != "softmax_check" else program
        assert line == "%s (megdeploy %s) Lite %s" % (name, mgedeploy.__version__, megenginelite.__version__), line
    assert megenginelite.__version__.startswith("1.13.")
    print("\n".join(lines.values()))


if __name__ == "__main__":
    testing.main(__file__, "-s")
