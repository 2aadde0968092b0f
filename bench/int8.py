"""Post-training-quantised int8 EfficientNet-Lite0 under Lite: its agreement with fp32, and its speed.

Calibration uses photos scikit-image ships, never the test photos (chelsea.png and coffee.png,
the sources of testdata/cat.jpg and coffee.jpg), each also mirrored. Agreement: top-1 of int8 vs
fp32 (both under Lite) on every testdata photo and on seeded augmented crops of them (random
crop of 35-100 % of the area, aspect 3:4 to 4:3, mirror, brightness x0.8-1.2), once per method
(--calibration, efficientnet_lite_int8.METHODS: minmax, percentile, and the data-free cle, bias,
cle_bias). Speed: //cc:benchmark at 1 thread, int8 and fp32 interleaved over rounds; NCHW88 (fp32,
and int8 with the first method) only where a child-process probe (lite/tuning.py) runs it safely.
Rows are marked int8 or fp32, never mixed.

Writes int8.json and int8.md into --output_dir (default ~/.cache/megdeploy/bench).

Usage: bazel run //bench:int8 -- [--crops 300] [--rounds 3] [--iters 50] [--nofast_run] [--nonchw88]
         [--calibration minmax --calibration cle ...] [--output_dir bench/results]
"""
import os
import random
import statistics
import sys
import tempfile
import time

from absl import app, flags

from mgedeploy.cli import quiet

quiet.import_megengine()

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from mgedeploy import labels, models, preprocess  # noqa: E402
from mgedeploy.cli import paths  # noqa: E402
from mgedeploy.weights import sources as weights  # noqa: E402
from bench import efficientnet_lite_int8  # noqa: E402
from bench import lite0_variant, machine, results_io  # noqa: E402

CROPS = flags.DEFINE_integer("crops", 300, "Augmented crops of the test photos for the agreement check.", lower_bound=0)
ROUNDS = flags.DEFINE_integer("rounds", 3, "Timing rounds; each runs every configuration once.", lower_bound=1)
ITERS = flags.DEFINE_integer("iters", 50, "Timed iterations per configuration per round.", lower_bound=1)
CALIBRATION = flags.DEFINE_multi_enum("calibration", list(efficientnet_lite_int8.CALIBRATIONS),
                                      efficientnet_lite_int8.CALIBRATIONS,
                                      "How activation ranges are set (repeat for several; each is its own int8 model).")
SEED = flags.DEFINE_integer("seed", 0, "Seed of the crops and of the run order.")
OUTPUT_DIR = flags.DEFINE_string("output_dir", None, results_io.OUTPUT_DIR_HELP)
CALIBRATION_PHOTOS = flags.DEFINE_integer(
    "calibration_photos", 0, "Calibrate on the first N scikit-image photos only (0: all; tests use a few).",
    lower_bound=0)
FAST_RUN = flags.DEFINE_bool("fast_run", True, "Time fp32 with fast-run kernels too (a ~40 s search first).")
NCHW88 = flags.DEFINE_bool("nchw88", True, "Time fp32 NCHW88 too, where a child-process probe shows it runs "
                           "(on CPUs where it deadlocks the probe costs its 60 s timeout).")

CC_BENCHMARK = os.path.join(paths.REPO_ROOT, "cc", "benchmark")
MODEL = lite0_variant.MODEL
# The scikit-image photos behind testdata/ (testdata/README.md): never used for calibration.
TEST_SOURCES = {"chelsea.png", "coffee.png"}
FAST = ["--weight_preprocess", "--record_level", "1"]
RUN_TIMEOUT_S = 600
SLOW_ITERS = 3


def calibration_images():
    import skimage

    data = os.path.join(os.path.dirname(skimage.__file__), "data")
    names = sorted(n for n in os.listdir(data) if n.endswith((".png", ".jpg")) and n not in TEST_SOURCES)
    names = names[:CALIBRATION_PHOTOS.value or None]
    images = []
    for name in names:
        image = cv2.imread(os.path.join(data, name), cv2.IMREAD_COLOR)
        if image is not None and min(image.shape[:2]) >= 64:
            images += [image, image[:, ::-1].copy()]
    return names, images


def augmented_crops(photos, count, seed):
    rng = random.Random(seed)
    for i in range(count):
        image = photos[i % len(photos)]
        h, w = image.shape[:2]
        area = rng.uniform(0.35, 1.0) * h * w
        aspect = rng.uniform(3 / 4, 4 / 3)
        ch = int(min(h, round((area / aspect) ** 0.5)))
        cw = int(min(w, round((area * aspect) ** 0.5)))
        y, x = rng.randint(0, h - ch), rng.randint(0, w - cw)
        crop = image[y:y + ch, x:x + cw]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        yield np.clip(crop.astype(np.float32) * rng.uniform(0.8, 1.2), 0, 255).astype(np.uint8)


def timed(command):
    """//cc:benchmark --json's median in ms, or None if it failed or hung."""
    result, _ = results_io.run_json(command, RUN_TIMEOUT_S)
    return result["median_ms"] if result else None


def main(argv):
    if len(argv) > 1:
        raise app.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    out_dir = results_io.output_dir(OUTPUT_DIR.value)
    started = time.time()
    spec = preprocess.SPECS[MODEL]
    float_model = models.build(MODEL)
    weights.load_packaged(float_model)
    names, images = calibration_images()
    print("Calibrating on %d images (%d scikit-image photos and their mirrors)..." % (len(images), len(names)),
          file=sys.stderr)
    calibration_inputs = [preprocess.preprocess_bgr(i, spec) for i in images]
    int8_models = {name: efficientnet_lite_int8.quantize_lite0(float_model, calibration_inputs, name)
                   for name in CALIBRATION.value}
    photos = sorted(os.path.join(paths.REPO_ROOT, "testdata", n) for n in os.listdir(os.path.join(paths.REPO_ROOT, "testdata"))
                    if n.endswith(".jpg"))
    sample = preprocess.load(photos[0], spec)
    with tempfile.TemporaryDirectory() as tmp:
        fp32_path = os.path.join(tmp, "fp32.mge")
        fp32 = lite0_variant.dump(float_model, sample, fp32_path)
        int8_paths = {name: os.path.join(tmp, "int8_%s.mge" % name) for name in int8_models}
        int8_runners = {name: lite0_variant.dump(model, sample, int8_paths[name])
                        for name, model in int8_models.items()}

        print("Agreement on the test photos and %d augmented crops..." % CROPS.value, file=sys.stderr)
        crop_inputs = [preprocess.preprocess_bgr(crop, spec)
                       for crop in augmented_crops([preprocess.read_bgr(p) for p in photos], CROPS.value, SEED.value)]
        calibrations = [agreement(name, fp32, runner, photos, crop_inputs, spec)
                        for name, runner in int8_runners.items()]

        first = CALIBRATION.value[0]
        configs = {("fp32", "weight_preprocess+record1"): [CC_BENCHMARK, fp32_path] + FAST,
                   ("int8", "default (%s)" % first): [CC_BENCHMARK, int8_paths[first]]}
        for name, path in int8_paths.items():  # the same kernels, other scales: timed to show it
            configs[("int8", "weight_preprocess+record1 (%s)" % name)] = [CC_BENCHMARK, path] + FAST
        if FAST_RUN.value:
            configs[("fp32", "weight_preprocess+fast_run+record1")] = [
                CC_BENCHMARK, fp32_path, "--fast_run_cache", os.path.join(tmp, "fp32.fastrun")] + FAST
            configs[("int8", "weight_preprocess+fast_run+record1 (%s)" % first)] = [
                CC_BENCHMARK, int8_paths[first], "--fast_run_cache", os.path.join(tmp, "int8.fastrun")] + FAST
        slow = set()
        if NCHW88.value and machine.nchw88_runs(fp32_path)[0]:
            configs[("fp32", "weight_preprocess+record1+nchw88")] = [CC_BENCHMARK, fp32_path, "--nchw88"] + FAST
            if machine.nchw88_runs(int8_paths[first])[0]:
                key = ("int8", "weight_preprocess+record1+nchw88 (%s)" % first)
                configs[key] = [CC_BENCHMARK, int8_paths[first], "--nchw88"] + FAST
                slow.add(key)
        for command in configs.values():
            if "--fast_run_cache" in command:
                timed(command + ["--iters", "1", "--json"])
        medians = {key: [] for key in configs}
        for r in range(ROUNDS.value):
            print("round %d/%d..." % (r + 1, ROUNDS.value), file=sys.stderr, flush=True)
            order = list(configs)
            random.Random(SEED.value + r).shuffle(order)
            for key in order:
                # int8 NCHW88 takes ~2.5 s a run (measured on a Zen 5: naive kernels), so a few runs show it.
                iters = SLOW_ITERS if key in slow else ITERS.value
                median = timed(configs[key] + ["--iters", str(iters), "--json", "--threads", "1"])
                if median is not None:
                    medians[key].append(round(median, 2))
    rows = [{"model": MODEL, "runtime": "lite_cc", "precision": precision, "options": options, "threads": 1,
             "iters": (SLOW_ITERS if (precision, options) in slow else ITERS.value) * len(m),
             "median_ms": statistics.median(m) if m else None, "round_medians_ms": m}
            for (precision, options), m in medians.items()]
    report = {"machine": machine.describe(), "calibration_photos": names, "calibration_inputs": len(images),
              "crops": CROPS.value, "calibrations": calibrations, "rows": rows,
              "seconds": round(time.time() - started, 1)}
    table = markdown(report)
    results_io.save(out_dir, "int8", report, table)
    print(table)
    return 0


def agreement(name, fp32, int8, photos, crop_inputs, spec):
    """Top-1 of the int8 model (calibration `name`) against fp32, both under Lite: per test photo,
    and over the augmented crops."""
    photo_rows, agree, prob_diffs = [], 0, []
    names = labels.imagenet_names()
    for path in photos:
        x = preprocess.load(path, spec)
        a, b = fp32.run(x)[0], int8.run(x)[0]
        photo_rows.append({"photo": os.path.basename(path), "fp32_top1": names[int(a.argmax())],
                           "int8_top1": names[int(b.argmax())], "agree": bool(a.argmax() == b.argmax()),
                           "fp32_p": round(float(a.max()), 4), "int8_p": round(float(b[a.argmax()]), 4)})
    for x in crop_inputs:
        a, b = fp32.run(x)[0], int8.run(x)[0]
        agree += int(a.argmax() == b.argmax())
        prob_diffs.append(float(np.abs(a - b).max()))
    return {"calibration": name, "photos": photo_rows, "crops_top1_agree": agree,
            "crops_max_prob_diff_median": round(statistics.median(prob_diffs), 4) if prob_diffs else None}


def markdown(report):
    lines = ["Calibration: %d inputs (%d scikit-image photos, mirrored; not the test photos)." % (
        report["calibration_inputs"], len(report["calibration_photos"])), "",
        "| calibration | photo | fp32 top-1 | int8 top-1 | agree | fp32 p | int8 p of that class |",
        "| --- | --- | --- | --- | --- | --- | --- |"]
    for c in report["calibrations"]:
        for p in c["photos"]:
            lines.append("| %s | %s | %s | %s | %s | %.3f | %.3f |" % (
                c["calibration"], p["photo"], p["fp32_top1"], p["int8_top1"], "yes" if p["agree"] else "no",
                p["fp32_p"], p["int8_p"]))
    if report["crops"]:
        lines.append("")
        for c in report["calibrations"]:
            lines.append("Augmented crops, %s: top-1 agrees on %d of %d (%.1f %%); median of the per-crop max "
                         "probability difference %.3f." % (c["calibration"], c["crops_top1_agree"], report["crops"],
                                                            100.0 * c["crops_top1_agree"] / report["crops"],
                                                            c["crops_max_prob_diff_median"]))
    lines += ["", "| precision | Lite C++ options (1 thread) | median ms | round medians |", "| --- | --- | --- | --- |"]
    for row in sorted(report["rows"], key=lambda r: (r["precision"], r["median_ms"] or 1e9)):
        lines.append("| %s | %s | %s | %s |" % (row["precision"], row["options"],
                                               "%.2f" % row["median_ms"] if row["median_ms"] else "failed",
                                               " / ".join("%.1f" % m for m in row["round_medians_ms"])))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    app.run(main)
