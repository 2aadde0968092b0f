"""Images per second by batch size and thread count, under Lite C++ (//cc:benchmark).

Exports the model once per batch size (//py:export --batch B, no settings timing), then times each
(batch, threads) pair with the settings export's NCHW candidate records — weight preprocess, a
recorded kernel sequence, fast-run kernels (searched first, cached per pair) — interleaved in a
shuffled order over rounds so machine noise falls on all alike. images/s = batch x 1000 / median ms
per forward pass. Writes batch.json and batch.md into --output_dir.

Usage: bazel run //bench:batch -- [--model efficientnet_lite0] [--batches 1,4,8] [--threads 1,2]
         [--iters 30] [--rounds 3] [--output_dir bench/results]
"""
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time

from absl import app, flags

from bench import machine, results_io
from mgedeploy.cli import paths

MODEL = flags.DEFINE_enum("model", "efficientnet_lite0", ["efficientnet_lite0", "snetv2_x100"], "Built-in model.")
BATCHES = flags.DEFINE_list("batches", ["1", "4", "8"], "Batch sizes.")
THREADS = flags.DEFINE_list("threads", ["1", "2"], "Thread counts.")
ITERS = flags.DEFINE_integer("iters", 30, "Timed forward passes per configuration per round.", lower_bound=1)
ROUNDS = flags.DEFINE_integer("rounds", 3, "Rounds; each runs every configuration once.", lower_bound=1)
SEED = flags.DEFINE_integer("seed", 0, "Seed of the run order.")
OUTPUT_DIR = flags.DEFINE_string("output_dir", None, results_io.OUTPUT_DIR_HELP)

EXPORT = os.path.join(paths.REPO_ROOT, "py", "export")
CC_BENCHMARK = os.path.join(paths.REPO_ROOT, "cc", "benchmark")
TIMEOUT_S = 900


def export(batch, directory):
    path = os.path.join(directory, "%s_b%d.mge" % (MODEL.value, batch))
    weights = ["--random_init"] if MODEL.value == "snetv2_x100" else []
    subprocess.run([EXPORT, "--model", MODEL.value, *weights, "--batch", str(batch), "--lite_settings", "none",
                    "--output", path], check=True, capture_output=True, timeout=TIMEOUT_S)
    return path


def main(argv):
    del argv
    batches, threads = [int(b) for b in BATCHES.value], [int(t) for t in THREADS.value]
    out_dir = results_io.output_dir(OUTPUT_DIR.value)
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        print("Exporting %s at batch %s..." % (MODEL.value, ", ".join(map(str, batches))), file=sys.stderr)
        models = {b: export(b, tmp) for b in batches}
        configs = {}
        for b in batches:
            for t in threads:
                cache = os.path.join(tmp, "b%d_t%d.fastrun" % (b, t))
                configs[(b, t)] = [CC_BENCHMARK, "-m", models[b], "--lite_options", "default", "--weight_preprocess",
                                   "--record_level", "1", "--fast_run_cache", cache, "--threads", str(t), "--json"]
        print("Searching fast-run kernels per configuration...", file=sys.stderr)
        for command in configs.values():
            results_io.run_json(command + ["--iters", "1", "--warmup", "0"], TIMEOUT_S)
        samples = {key: [] for key in configs}
        rounds = {key: [] for key in configs}
        order = list(configs)
        for r in range(ROUNDS.value):
            random.Random(SEED.value + r).shuffle(order)
            print("round %d/%d..." % (r + 1, ROUNDS.value), file=sys.stderr, flush=True)
            for key in order:
                result, what = results_io.run_json(configs[key] + ["--iters", str(ITERS.value)], TIMEOUT_S)
                if result is None:
                    raise SystemExit("batch %d, %d threads: %s" % (key[0], key[1], what))
                samples[key] += result["samples_ms"]
                rounds[key].append(round(result["median_ms"], 2))
    rows = []
    for (b, t), s in samples.items():
        median = statistics.median(s)
        rows.append({"model": MODEL.value, "batch": b, "threads": t, "options": "weight_preprocess+fast_run+record1",
                     "median_ms_per_pass": round(median, 2), "images_per_s": round(b * 1e3 / median, 1),
                     "round_medians_ms": rounds[(b, t)], "passes": len(s)})
    report = {"machine": machine.describe(), "iters": ITERS.value, "rounds": ROUNDS.value, "rows": rows,
              "seconds": round(time.time() - started, 1)}
    best = {t: max((r for r in rows if r["threads"] == t), key=lambda r: r["images_per_s"]) for t in threads}
    lines = ["%s, Lite C++ (%s), %d rounds x %d passes, interleaved." % (
        MODEL.value, rows[0]["options"], ROUNDS.value, ITERS.value), "",
        "| batch | threads | ms per pass | images/s | round medians (ms) |", "| --- | --- | --- | --- | --- |"]
    for r in sorted(rows, key=lambda r: (r["threads"], r["batch"])):
        lines.append("| %d | %d | %.2f | %.1f%s | %s |" % (
            r["batch"], r["threads"], r["median_ms_per_pass"], r["images_per_s"],
            " (best)" if r is best[r["threads"]] else "", " / ".join("%.1f" % m for m in r["round_medians_ms"])))
    table = "\n".join(lines) + "\n"
    results_io.save(out_dir, "batch", report, table)
    print(table)
    return 0


if __name__ == "__main__":
    app.run(main)
