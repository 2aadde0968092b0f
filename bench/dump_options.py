"""Measures trace.dump's optimisation options under Lite: exactness against eager, and latency.

For each option set it dumps the model, checks Lite's output against the eager model on the sample
photo, then times Lite's forward pass, the option sets interleaved round by round so that machine
noise falls on all of them alike. Writes JSON and prints a Markdown table.

Usage: bazel run //bench:dump_options -- [--model efficientnet_lite0] [--rounds 20] [--output_dir DIR]
Writes dump_options_<model>.json into --output_dir (default: results_io.DEFAULT_DIR, outside the tree;
--output_dir bench/results records it).
"""
import json
import os
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
from megengine.jit import trace  # noqa: E402

from bench import results_io  # noqa: E402
from mgedeploy import models, preprocess  # noqa: E402
from mgedeploy.cli import paths  # noqa: E402
from mgedeploy.lite import runner as lite_runner  # noqa: E402
from mgedeploy.weights import sources as weights  # noqa: E402

OPTION_SETS = {
    "no optimize_for_inference": {"optimize_for_inference": False},
    "optimize_for_inference": {"optimize_for_inference": True},
    "+ fuse_conv_bias_nonlinearity": {"optimize_for_inference": True, "enable_fuse_conv_bias_nonlinearity": True},
    "+ fuse_conv_bias_with_z": {"optimize_for_inference": True, "enable_fuse_conv_bias_nonlinearity": True,
                                "enable_fuse_conv_bias_with_z": True},
}

MODEL = flags.DEFINE_enum("model", "efficientnet_lite0", models.NAMES, "Model to dump.")
ROUNDS = flags.DEFINE_integer("rounds", 20, "Timed rounds; each round runs every option set once.", lower_bound=1)
WARMUP = flags.DEFINE_integer("warmup", 3, "Untimed runs per option set first.", lower_bound=0)
OUTPUT_DIR = flags.DEFINE_string("output_dir", None, results_io.OUTPUT_DIR_HELP)


def main(argv):
    del argv
    name = MODEL.value
    model = models.build(name)
    if name == "efficientnet_lite0":
        weights.load_packaged(model)
    else:
        weights.randomise(model, 0)
    sample = preprocess.load(paths.DEFAULT_IMAGE, preprocess.SPECS[name])
    eager = F.softmax(model(megengine.tensor(sample))).numpy()

    runners, rows = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for label, options in OPTION_SETS.items():
            @trace(symbolic=True, capture_as_const=True)
            def infer(data):
                return F.softmax(model(data))

            infer(megengine.tensor(sample))
            path = os.path.join(tmp, "m%d.mge" % len(runners))
            infer.dump(path, arg_names=["data"], **options)
            runners[label] = lite_runner.LiteRunner(path, "data")
            diff = float(np.abs(runners[label].run(sample) - eager).max())
            rows[label] = {"options": options, "max_abs_diff_vs_eager": diff, "bytes": os.path.getsize(path),
                           "times_ms": []}
        for runner in runners.values():
            for _ in range(WARMUP.value):
                runner.run(sample)
        for i in range(ROUNDS.value):
            for label, runner in runners.items():
                start = time.perf_counter()
                runner.run(sample)
                rows[label]["times_ms"].append((time.perf_counter() - start) * 1e3)
            print("\rround %d/%d" % (i + 1, ROUNDS.value), end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    print("| dump options (%s, Lite, 1 thread) | median ms | min ms | max abs diff vs eager |" % name)
    print("| --- | --- | --- | --- |")
    for label, row in rows.items():
        row["median_ms"] = statistics.median(row["times_ms"])
        row["min_ms"] = min(row["times_ms"])
        print("| %s | %.2f | %.2f | %.2g |" % (label, row["median_ms"], row["min_ms"], row["max_abs_diff_vs_eager"]))
    output = os.path.join(results_io.output_dir(OUTPUT_DIR.value), "dump_options_%s.json" % name)
    results_io.write(output, json.dumps({"model": name, "rounds": ROUNDS.value, "rows": rows}, indent=1) + "\n")
    print("Wrote " + paths.shown(output))
    return 0


if __name__ == "__main__":
    app.run(main)
