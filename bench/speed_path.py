"""The path from the textbook EfficientNet-Lite0 to the deployed one under Lite C++, step by step.

Each step is one change, measured against the previous one in the same run: every round runs every
step once (shuffled), as a //cc:benchmark subprocess at 1 thread, and ONNX Runtime on the same
weights as the reference. Every variant is exported from our own model code (real packaged
weights) and must agree with the eager textbook model within 1e-5 on the sample photo before it
is timed. A step that hangs or fails (NCHW88 can, on some CPUs) is reported, not fatal.

Writes bench/results/speed_path.json and speed_path.md.

Usage: bazel run //bench:speed_path -- [--rounds 3] [--iters 50] [--output_dir bench/results]
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

import megengine  # noqa: E402
import megengine.functional as F  # noqa: E402
import numpy as np  # noqa: E402

from mgedeploy import preprocess  # noqa: E402
from mgedeploy.cli import paths  # noqa: E402
from mgedeploy.weights import sources as weights  # noqa: E402
from mgedeploy.models import efficientnet_lite  # noqa: E402
from bench import lite0_variant, machine, results_io  # noqa: E402

ROUNDS = flags.DEFINE_integer("rounds", 3, "Rounds; each runs every step once.", lower_bound=1)
ITERS = flags.DEFINE_integer("iters", 50, "Timed iterations per step per round.", lower_bound=1)
OUTPUT_DIR = flags.DEFINE_string("output_dir", None, results_io.OUTPUT_DIR_HELP)

CC_BENCHMARK = os.path.join(paths.REPO_ROOT, "cc", "benchmark")
PY_BENCHMARK = os.path.join(paths.REPO_ROOT, "py", "benchmark")
TOLERANCE = 1e-5
RUN_TIMEOUT_S = 600  # the first run of a fast-run step includes its ~40 s search
FAST = ["--weight_preprocess", "--record_level", "1"]
# (what changed, padding form, ReLU6 form, //cc:benchmark options; "FASTRUN" = a per-variant cache)
STEPS = [
    ("textbook model (explicit Pad ops, F.relu6), Lite defaults", "pad_op", "relu6", []),
    ("\"SAME\" padding without Pad ops (a zero row/column joined on)", "concat", "relu6", []),
    ("+ fast-run kernels, weight preprocess, recorded sequence", "concat", "relu6", ["FASTRUN"] + FAST),
    ("+ ReLU6 as min(relu(x), 6): the ReLU fuses into the convolution", "concat", "min_relu", ["FASTRUN"] + FAST),
    ("NCHW88 layout instead of fast-run kernels", "concat", "min_relu", ["--nchw88"] + FAST),
]


def export_variant(padding_form, relu6_form, sample, reference, directory):
    model = efficientnet_lite.build(padding_form, relu6_form)
    model.eval()
    weights.load_packaged(model)
    path = os.path.join(directory, "lite0_%s_%s.mge" % (padding_form, relu6_form))
    if os.path.exists(path):
        return path
    runner = lite0_variant.dump(model, sample, path)
    diff = float(np.max(np.abs(runner.run(sample) - reference)))
    if not diff <= TOLERANCE:
        raise RuntimeError("%s: Lite differs from the textbook eager model by %.3g > %g" % (path, diff, TOLERANCE))
    print("  %s + %s: exact (max abs difference %.3g)" % (padding_form, relu6_form, diff), file=sys.stderr)
    return path


def run(command):
    """//cc:benchmark or //py:benchmark --json: its median in ms, or None and why."""
    result, what = results_io.run_json(command, RUN_TIMEOUT_S)
    return (result["median_ms"] if result else None), what


def main(argv):
    if len(argv) > 1:
        raise app.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    out_dir = results_io.output_dir(OUTPUT_DIR.value)
    started = time.time()
    sample = preprocess.load(paths.DEFAULT_IMAGE, preprocess.SPECS[lite0_variant.MODEL])
    textbook = efficientnet_lite.build("pad_op", "relu6")
    textbook.eval()
    weights.load_packaged(textbook)
    reference = F.softmax(textbook(megengine.tensor(sample))).numpy()
    with tempfile.TemporaryDirectory() as tmp:
        print("Exporting the variants...", file=sys.stderr)
        commands = {}
        for i, (_, padding_form, relu6_form, options) in enumerate(STEPS):
            model = export_variant(padding_form, relu6_form, sample, reference, tmp)
            flags_ = []
            for option in options:
                flags_ += ["--fast_run_cache", os.path.join(tmp, "step%d.fastrun" % i)] if option == "FASTRUN" else [option]
            commands[i] = [CC_BENCHMARK, model] + flags_ + ["--json", "--threads", "1"]
        commands["onnxruntime"] = [PY_BENCHMARK, "-m", model, "--runtime", "onnxruntime", "--json", "--threads", "1"]
        print("Priming the fast-run caches...", file=sys.stderr)
        for command in commands.values():
            if "--fast_run_cache" in command:
                run(command + ["--iters", "1"])
        medians = {key: [] for key in commands}
        problems = {}
        for r in range(ROUNDS.value):
            print("round %d/%d..." % (r + 1, ROUNDS.value), file=sys.stderr, flush=True)
            order = [k for k in commands if k not in problems]
            random.Random(r).shuffle(order)
            for key in order:
                median, what = run(commands[key] + ["--iters", str(ITERS.value)])
                if median is None:
                    problems[key] = what
                else:
                    medians[key].append(round(median, 2))
    report = summarise(medians, problems)
    report.update({"machine": machine.describe(), "rounds": ROUNDS.value, "iters_per_round": ITERS.value,
                   "seconds": round(time.time() - started, 1)})
    table = markdown(report)
    results_io.save(out_dir, "speed_path", report, table)
    print(table)
    return 0


def summarise(medians, problems):
    ort = statistics.median(medians["onnxruntime"]) if medians["onnxruntime"] else None
    rows, previous = [], None
    for i, (change, padding_form, relu6_form, options) in enumerate(STEPS):
        row = {"step": i + 1, "change": change, "model": "%s, %s" % (padding_form, relu6_form),
               "options": " ".join(o for o in options if o != "FASTRUN") + (" fast-run" if "FASTRUN" in options else ""),
               "round_medians_ms": medians[i]}
        if medians[i]:
            row["median_ms"] = statistics.median(medians[i])
            row["speedup_vs_previous"] = round(previous / row["median_ms"], 2) if previous else None
            row["vs_onnxruntime"] = round(row["median_ms"] / ort, 2) if ort else None
            previous = row["median_ms"]
        else:
            row["problem"] = problems.get(i, "not run")
        rows.append(row)
    return {"onnxruntime_median_ms": ort, "onnxruntime_round_medians_ms": medians["onnxruntime"], "steps": rows}


def markdown(report):
    lines = ["| step | change | median ms | round medians | gain vs previous | x ONNX Runtime |",
             "| --- | --- | --- | --- | --- | --- |"]
    for row in report["steps"]:
        if "median_ms" not in row:
            lines.append("| %d | %s | %s | | | |" % (row["step"], row["change"], row["problem"]))
            continue
        gain = "%.2fx" % row["speedup_vs_previous"] if row["speedup_vs_previous"] else ""
        lines.append("| %d | %s | %.2f | %s | %s | %.2f |" % (
            row["step"], row["change"], row["median_ms"], " / ".join("%.1f" % m for m in row["round_medians_ms"]),
            gain, row["vs_onnxruntime"]))
    lines.append("| | ONNX Runtime (ORT_ENABLE_ALL), same weights | %.2f | %s | | 1.00 |" % (
        report["onnxruntime_median_ms"], " / ".join("%.1f" % m for m in report["onnxruntime_round_medians_ms"])))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    app.run(main)
