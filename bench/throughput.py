"""Images per second on all cores: Lite vs ONNX Runtime, one network with 2 threads vs 2 networks
with one thread each, batch 1/4/8, and two models in one process alternating run by run.

Forward passes only (random input), from Python threads (megenginelite and onnxruntime both
release the GIL for a whole run). Every configuration runs in its own child process (the runtimes
leave threads behind), for --seconds after a warm-up, in a shuffled order, --rounds times; the table
gives the median images/s. Lite uses the settings export would choose on this machine, per model:
weight preprocess, record level 1, and the faster of its two candidates in export's own
child-process race (lite/tuning.py) — NCHW with fast-run kernels (cached per configuration in
--fast_run_cache_dir) or NCHW88 (where its probe runs); 2-network Lite shares one copy of the
weights. Batch N uses a model exported with --batch N.

Batch 4 and 8 pay a fast-run search of several minutes per model and runtime the first time
(Lite's profiler also times the naive kernels at those shapes); the recorded run used --batches 1,
and //bench:batch has Lite's batch rows.

Usage: bazel run //bench:throughput -- [--models efficientnet_lite0,snetv2_x100] [--batches 1,4,8]
         [--seconds 5] [--rounds 2] [--output_dir bench/results]
"""
import concurrent.futures
import multiprocessing
import os
import random
import statistics
import subprocess
import tempfile
import threading
import time

import numpy as np
from absl import app, flags

from bench import machine, results_io
from mgedeploy.cli import paths

MODELS = flags.DEFINE_list("models", ["efficientnet_lite0", "snetv2_x100"], "Built-in models.")
BATCHES = flags.DEFINE_list("batches", ["1", "4", "8"], "Batch sizes (with 2 networks x 1 thread).")
SECONDS = flags.DEFINE_float("seconds", 5.0, "Timed seconds per configuration per round.")
ROUNDS = flags.DEFINE_integer("rounds", 2, "Rounds; each runs every configuration once.", lower_bound=1)
SEED = flags.DEFINE_integer("seed", 0, "Seed of the run order.")
CACHE_DIR = flags.DEFINE_string("fast_run_cache_dir", None, "Fast-run caches (default: ~/.cache/megdeploy/fastrun).")
OUTPUT_DIR = flags.DEFINE_string("output_dir", None, results_io.OUTPUT_DIR_HELP)

EXPORT = os.path.join(paths.REPO_ROOT, "py", "export")


def export(model, batch, directory):
    """The test export (batch 1) or a --batch N export into `directory`; returns its path."""
    if batch == 1:
        return os.path.join(paths.REPO_ROOT, "testdata", model + ".mge")
    path = os.path.join(directory, "%s_b%d.mge" % (model, batch))
    if os.path.exists(path):
        return path
    weights = ["--random_init", "--seed", "0"] if model == "snetv2_x100" else []
    subprocess.run([EXPORT, "--model", model, "--lite_settings", "none", "--batch", str(batch), "--output", path]
                   + weights, check=True, capture_output=True, timeout=600)
    return path


def choose_layout(path):
    """("nchw" or "nchw88", {candidate: median ms}) for the model at `path`: export's race of its
    candidates in one child process (NCHW88 only where its probe runs it)."""
    from mgedeploy import contract
    from mgedeploy.lite import tuning

    runs, _ = machine.nchw88_runs(path)
    if not runs:
        return "nchw", {}
    info = contract.read(path)
    with tempfile.TemporaryDirectory() as tmp:
        sample = os.path.join(tmp, "sample.npy")
        np.save(sample, np.random.default_rng(0).random(info["input"]["shape"], dtype=np.float32))
        cache = os.path.join(tmp, "race.fastrun")
        args = [path, info["input"]["name"], sample]
        tuning.run_probe(["check", "nchw"] + args + [os.path.join(tmp, "out.npy"), cache], tuning.TIMEOUT_S["nchw"])
        medians, what = tuning.run_probe(["race"] + args + [cache, "nchw", "nchw88"], tuning.TIMEOUT_S["nchw"])
    if medians is None:
        print("  %s: racing the layouts failed (%s): NCHW" % (path, what), flush=True)
        return "nchw", {}
    return min(medians, key=medians.get), medians


def make_runner(runtime, path, threads, cache, share=None, layout="nchw"):
    """A callable running one forward pass of random input, and the network object (to share)."""
    from mgedeploy import contract

    info = contract.read(path)
    shape = info["input"]["shape"]
    data = np.random.default_rng(0).random(shape, dtype=np.float32)
    if runtime == "lite":
        from mgedeploy.lite import options as lite_options
        from mgedeploy.lite import runner as lite_runner

        options = (lite_options.LiteOptions(weight_preprocess=True, record_level=1, nchw88=True) if layout == "nchw88"
                   else lite_options.LiteOptions(weight_preprocess=True, record_level=1, fast_run_cache=cache))
        runner = lite_runner.LiteRunner(path, info["input"]["name"], threads=threads, options=options,
                                        share_weights_with=share)
        return (lambda: runner.run(data)), runner
    from mgedeploy.peers import onnx_session

    proto = share or onnx_session.serialized_graph(info)
    session = onnx_session.session(proto, threads)
    name = info["input"]["name"]
    return (lambda: session.run(None, {name: data})), proto


def measure(runtime, paths_, networks, threads, seconds, cache_dir, layouts):
    """In a child process: images/s of `networks` Python threads, each owning one network per model
    path (alternating between the paths run by run), `threads` Lite/ORT threads each."""
    from mgedeploy.cli import quiet

    quiet.import_megengine()  # the ONNX graph is built from the eager model, on this (main) thread
    batch = [contract_batch(p) for p in paths_]
    # One fast-run cache per configuration (Lite's persistent cache is process-wide).
    cache = os.path.join(cache_dir, "throughput-%s-%dthreads.cache" % ("+".join(os.path.basename(p) for p in paths_),
                                                                       threads))
    runners, firsts = [], {}
    for worker in range(networks):
        own = []
        for p in paths_:
            run, shared = make_runner(runtime, p, threads, cache, firsts.get(p), layouts.get(p, "nchw"))
            firsts.setdefault(p, shared)
            own.append(run)
        runners.append(own)
    barrier = threading.Barrier(networks)
    counts = [0] * networks
    stop = [0.0]

    def work(i):
        for run in runners[i]:  # warm-up (fast-run search on a first run without a cache)
            for _ in range(3):
                run()
        barrier.wait()
        if i == 0:
            if runtime == "lite":  # keep what fast-run found for the next round
                from mgedeploy.lite import runner as lite_runner

                lite_runner.megenginelite().LiteGlobal.dump_persistent_cache(cache)
            stop[0] = time.perf_counter() + seconds
        barrier.wait()
        k = 0
        while time.perf_counter() < stop[0]:
            runners[i][k % len(paths_)]()
            counts[i] += batch[k % len(paths_)]
            k += 1
        runners[i] = None  # freed on this thread (a recorded sequence stays with its thread)

    pool = [threading.Thread(target=work, args=(i,)) for i in range(networks)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sum(counts) / seconds


def contract_batch(path):
    from mgedeploy import contract

    return contract.read(path)["input"]["shape"][0]


def configurations(models, batches, directory):
    configs = []
    for model in models:
        for runtime in ("lite", "onnxruntime"):
            one = export(model, 1, directory)
            configs += [(model, runtime, "1 network x 1 thread", [one], 1, 1),
                        (model, runtime, "1 network x 2 threads", [one], 1, 2),
                        (model, runtime, "2 networks x 1 thread", [one], 2, 1)]
            for b in batches:
                if b > 1:
                    configs.append((model, runtime, "2 networks x 1 thread, batch %d" % b,
                                    [export(model, b, directory)], 2, 1))
    if len(models) == 2:
        both = [export(m, 1, directory) for m in models]
        for runtime in ("lite", "onnxruntime"):
            configs.append(("both, alternating", runtime, "2 networks x 1 thread, each running both models",
                            both, 2, 1))
    return configs


def table(report):
    lines = ["# //bench:throughput, %s, %d cores" % (report["machine"]["cpu"], report["machine"]["cores"]), "",
             "Images/s (median of %d rounds, %g s each; forward passes of random input). Lite's layout per model "
             "(export's race): %s." % (report["rounds"], report["seconds"], ", ".join(
                 "%s %s" % (m, v["chosen"].upper()) for m, v in report["lite_layouts"].items())), "",
             "| model | configuration | Lite | ONNX Runtime | Lite / ORT |", "|---|---|---|---|---|"]
    rows = {}
    for r in report["results"]:
        rows.setdefault((r["model"], r["configuration"]), {})[r["runtime"]] = r["median_images_per_s"]
    for (model, configuration), by in rows.items():
        lite, ort = by.get("lite"), by.get("onnxruntime")
        lines.append("| %s | %s | %.1f | %.1f | %.2f |" % (model, configuration, lite, ort, lite / ort))
    return "\n".join(lines) + "\n"


def main(argv):
    del argv
    cache_dir = paths.user_path(CACHE_DIR.value) if CACHE_DIR.value else os.path.expanduser("~/.cache/megdeploy/fastrun")
    os.makedirs(cache_dir, exist_ok=True)
    with tempfile.TemporaryDirectory() as directory:
        print("Exporting batch sizes %s..." % ", ".join(BATCHES.value), flush=True)
        configs = configurations(MODELS.value, [int(b) for b in BATCHES.value], directory)
        layouts, races, chosen = {}, {}, {}
        for model in MODELS.value:
            layout, races[model] = choose_layout(export(model, 1, directory))
            chosen[model] = layout
            print("  %s: Lite in %s (race medians: %s)" % (model, layout, races[model] or "not raced"), flush=True)
            for config in configs:  # every path of this model (each batch) takes its batch-1 choice
                for p in config[3]:
                    if os.path.basename(p).startswith(model):
                        layouts[p] = layout
        samples = {i: [] for i in range(len(configs))}
        rng = random.Random(SEED.value)
        context = multiprocessing.get_context("spawn")
        for round_index in range(ROUNDS.value):
            order = list(range(len(configs)))
            rng.shuffle(order)
            for n, i in enumerate(order):
                model, runtime, name, model_paths, networks, threads = configs[i]
                print("round %d/%d, %d/%d: %s %s %s" % (round_index + 1, ROUNDS.value, n + 1, len(order), model,
                                                        runtime, name), flush=True)
                with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as child:
                    samples[i].append(child.submit(measure, runtime, model_paths, networks, threads, SECONDS.value,
                                                   cache_dir, layouts).result())
    results = [{"model": c[0], "runtime": c[1], "configuration": c[2], "images_per_s": samples[i],
                "median_images_per_s": statistics.median(samples[i])} for i, c in enumerate(configs)]
    report = {"tool": "throughput", "machine": machine.describe(), "rounds": ROUNDS.value, "seconds": SECONDS.value,
              "lite_layouts": {m: {"chosen": chosen[m], "race_medians_ms": races[m]} for m in MODELS.value},
              "results": results}
    directory = results_io.output_dir(OUTPUT_DIR.value)
    text = table(report)
    results_io.save(directory, "throughput", report, text)
    print(text)
    print("Wrote %s/throughput.{json,md}" % directory)


if __name__ == "__main__":
    app.run(main)
