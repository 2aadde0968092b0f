"""Side-by-side latency of MegEngine eager, megenginelite (Python), Lite C++ (default and best
options) and ONNX Runtime, on both models at 1 and 2 threads, interleaved and repeated.

Each round runs every configuration once, in a fresh shuffled order, as a subprocess of
//py:benchmark or //cc:benchmark with --json; per-iteration samples of all rounds are pooled, and
each round's median is kept so the noise shows. Before anything is timed, ONNX Runtime's top-5 on
every test photo must equal Lite's. Fast-run searches are paid once, into a per-model cache file.

Writes bench/results/latest.json, latest.md (the table) and latest.png (a bar chart).

Usage: bazel run //bench:compare -- [--iters 50] [--repeats 3] [--models efficientnet_lite0,snetv2_x100]
         [--threads 1,2] [--output_dir bench/results] [--fast_run_cache_dir ~/.cache/megdeploy/fastrun]
"""
import os
import platform
import random
import sys
import time

from absl import app, flags

from mgedeploy.cli import quiet

quiet.import_megengine()

import numpy as np  # noqa: E402

from mgedeploy import contract, preprocess  # noqa: E402
from mgedeploy.cli import paths  # noqa: E402
from mgedeploy.lite import options as lite_options  # noqa: E402
from mgedeploy.lite import runner as lite_runner  # noqa: E402
from mgedeploy.peers import onnx_graph as onnx_export  # noqa: E402
from mgedeploy.peers import eager as eager_model  # noqa: E402
from bench import chart, machine, results_io  # noqa: E402

ITERS = flags.DEFINE_integer("iters", 50, "Timed iterations per configuration per round.", lower_bound=1)
WARMUP = flags.DEFINE_integer("warmup", 5, "Untimed iterations per run.", lower_bound=0)
REPEATS = flags.DEFINE_integer("repeats", 3, "Rounds; each runs every configuration once.", lower_bound=1)
MODELS = flags.DEFINE_list("models", ["efficientnet_lite0", "snetv2_x100"], "Models to compare.")
THREADS = flags.DEFINE_list("threads", ["1", "2"], "Thread counts.")
OUTPUT_DIR = flags.DEFINE_string("output_dir", None, results_io.OUTPUT_DIR_HELP)
CACHE_DIR = flags.DEFINE_string("fast_run_cache_dir", None,
                                "Fast-run caches (default: ~/.cache/megdeploy/fastrun).")
SEED = flags.DEFINE_integer("seed", 0, "Seed of the run order shuffle.")

PY_BENCHMARK = os.path.join(paths.REPO_ROOT, "py", "benchmark")
CC_BENCHMARK = os.path.join(paths.REPO_ROOT, "cc", "benchmark")
# The exact option sets export chooses between (py/mgedeploy/lite/tuning.py): weight preprocessing
# and a recorded computing sequence, with either fast-run kernels (cached) in NCHW or NCHW88.
BEST_LITE_OPTIONS = ["--lite_options", "default", "--weight_preprocess", "--record_level", "1"]
DEFAULT_LITE_OPTIONS = ["--lite_options", "default"]
RUN_TIMEOUT_SECONDS = 900


def model_file(name):
    return os.path.join(paths.REPO_ROOT, "testdata", name + ".mge")


def configurations(models, threads, cache_dir):
    configs = []
    for name in models:
        model = model_file(name)
        info = contract.read(model)
        digest = info["mge_file"]["sha256"][:12]
        nchw88_safe, what = machine.nchw88_runs(model)
        print("%s: NCHW88 in a child process: %s%s" % (name, what, "" if nchw88_safe else " (not timed)"),
              file=sys.stderr, flush=True)
        for t in threads:
            common = ["--threads", str(t), "--warmup", str(WARMUP.value), "--json"]
            cache = os.path.join(cache_dir, "%s-%s-%sthreads.cache" % (name, digest, t))
            configs += [
                (name, "eager", [PY_BENCHMARK, "-m", model, "--runtime", "eager"] + common),
                (name, "lite_py", [PY_BENCHMARK, "-m", model, "--runtime", "lite"] + DEFAULT_LITE_OPTIONS + common),
                (name, "lite_cc", [CC_BENCHMARK, model] + DEFAULT_LITE_OPTIONS + common),
                (name, "lite_cc", [CC_BENCHMARK, model, "--fast_run_cache", cache] + BEST_LITE_OPTIONS + common),
                (name, "onnxruntime", [PY_BENCHMARK, "-m", model, "--runtime", "onnxruntime"] + common),
            ]
            if nchw88_safe:
                configs.append((name, "lite_cc", [CC_BENCHMARK, model, "--nchw88"] + BEST_LITE_OPTIONS + common))
    return configs


def progress(round_index, run_index, runs):
    """A self-overwriting status line on terminals; one line per round elsewhere (logs, tests)."""
    text = "round %d/%d, run %d/%d" % (round_index + 1, REPEATS.value, run_index + 1, runs)
    if sys.stderr.isatty():
        end = "\n" if run_index + 1 == runs else ""
        print("\r" + text, end=end, file=sys.stderr, flush=True)
    elif run_index == 0:
        print("round %d/%d..." % (round_index + 1, REPEATS.value), file=sys.stderr, flush=True)


def run(command, iters):
    result, what = results_io.run_json(command + ["--iters", str(iters)], RUN_TIMEOUT_SECONDS)
    if result is None:
        raise RuntimeError("%s %s" % (" ".join(os.path.basename(c) for c in command[:2]), what))
    return result


def check_onnxruntime_agrees(name):
    """ORT's top-5 on every test photo must equal Lite's before ORT is timed."""
    import onnxruntime

    model = model_file(name)
    info = contract.read(model)
    session = onnxruntime.InferenceSession(
        onnx_export.build(name, eager_model.from_contract(info)).SerializeToString(),
        providers=["CPUExecutionProvider"])
    lite = lite_runner.LiteRunner(model, info["input"]["name"])
    for photo in sorted(os.listdir(os.path.join(paths.REPO_ROOT, "testdata"))):
        if not photo.endswith(".jpg"):
            continue
        data = preprocess.load(os.path.join(paths.REPO_ROOT, "testdata", photo), info["preprocess"])
        ort_top = np.argsort(-session.run(None, {"data": data})[0][0])[:5].tolist()
        lite_top = np.argsort(-lite.run(data)[0])[:5].tolist()
        if ort_top != lite_top:
            raise RuntimeError("%s on %s: ONNX Runtime's top-5 %s differ from Lite's %s" % (name, photo, ort_top, lite_top))
        print("  %s on %s: ONNX Runtime and Lite agree on top-5 %s" % (name, photo, lite_top), file=sys.stderr)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    unknown = [m for m in MODELS.value if not os.path.exists(model_file(m))]
    if unknown:
        raise app.UsageError("unknown model(s): %s" % ", ".join(unknown))
    threads = [int(t) for t in THREADS.value]
    out_dir = results_io.output_dir(OUTPUT_DIR.value)
    cache_dir = paths.user_path(CACHE_DIR.value or "~/.cache/megdeploy/fastrun")
    os.makedirs(cache_dir, exist_ok=True)
    started = time.time()
    try:
        print("Checking ONNX Runtime against Lite on the test photos...", file=sys.stderr)
        for name in MODELS.value:
            check_onnxruntime_agrees(name)
        configs = configurations(MODELS.value, threads, cache_dir)
        print("Priming fast-run caches (paid once per model and thread count)...", file=sys.stderr)
        for _, _, command in configs:
            if "--fast_run_cache" in command:
                run(command, 1)
        samples = {i: [] for i in range(len(configs))}
        rounds = {i: [] for i in range(len(configs))}
        meta = {}
        order = list(range(len(configs)))
        rng = random.Random(SEED.value)
        for r in range(REPEATS.value):
            rng.shuffle(order)
            for done, i in enumerate(order):
                progress(r, done, len(order))
                result = run(configs[i][2], ITERS.value)
                samples[i] += result["samples_ms"]
                rounds[i].append(result["median_ms"])
                meta.setdefault(i, result)
    except (RuntimeError, contract.ContractError, lite_runner.ModelError) as e:
        print("compare: %s" % e, file=sys.stderr)
        quiet.drop_native_output()
        return 1

    macs = {name: onnx_export.count_macs(onnx_export.build(name, eager_model.from_contract(contract.read(model_file(name)))))
            for name in MODELS.value}
    rows = []
    for i, (name, runtime, _) in enumerate(configs):
        a = np.asarray(samples[i])
        median = float(np.percentile(a, 50))
        rows.append({
            "model": name, "runtime": runtime, "precision": "fp32", "options": meta[i]["options"],
            "threads": meta[i]["threads"], "iters": len(a), "load_ms": meta[i]["load_ms"],
            "min_ms": float(a.min()), "median_ms": median, "p90_ms": float(np.percentile(a, 90)),
            "max_ms": float(a.max()), "std_ms": float(a.std()),
            "round_medians_ms": rounds[i], "gflops": 2 * macs[name] / median / 1e6,
        })
    report = {"machine": machine.describe(), "macs": macs, "iters_per_round": ITERS.value, "repeats": REPEATS.value,
              "python": platform.python_version(), "duration_s": round(time.time() - started, 1), "rows": rows}
    table = markdown(report)
    results_io.save(out_dir, "latest", report, table)
    chart.write_png(rows, os.path.join(out_dir, "latest.png"))
    print(table)
    print("Wrote %s/latest.{json,md,png} in %.0f s" % (paths.shown(out_dir), time.time() - started))
    return 0


def markdown(report):
    m = report["machine"]
    lines = [
        "Machine: %s, %d cores; peak fp32 estimate %.0f GFLOP/s per core (%s)."
        % (m["cpu"], m["cores"], m["peak_gflops_per_core"], m["peak_estimate"]),
        "MACs: " + ", ".join("%s %.0f M" % (k, v / 1e6) for k, v in report["macs"].items()) + ".",
        "%d rounds x %d iterations, interleaved; latency in ms." % (report["repeats"], report["iters_per_round"]),
        "",
        "| model | threads | runtime | options | median | min | p90 | std | round medians | GFLOP/s | load ms |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in sorted(report["rows"], key=lambda r: (r["model"], r["threads"], r["median_ms"])):
        lines.append("| %s | %d | %s | %s | %.2f | %.2f | %.2f | %.2f | %s | %.1f | %.0f |" % (
            r["model"], r["threads"], r["runtime"], r["options"], r["median_ms"], r["min_ms"], r["p90_ms"],
            r["std_ms"], " / ".join("%.1f" % v for v in r["round_medians_ms"]), r["gflops"], r["load_ms"]))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    app.run(main)
