"""Lite 1.13's remaining knobs on NCHW88, timed side by side: do any of them change the kernels or
the time? (issue 22, part 3: fast-run algo policies, the workspace limit, in-place CPU mode.) The
global layout transform is timed by //cc:benchmark --layout_transform in its own process: loaded
into this one, it left NCHW + fast-run at 35 ms instead of 14 (measured), so it is not a row here.

Every variant is loaded into one process (weight preprocess, record level 1, 1 thread) and they run
alternately, run by run, so that the machine's drift weighs on all alike; each row gives the
median and 10th percentile over --iters runs and the output's max abs difference from plain
NCHW88 (0 means the same kernels). A variant Lite refuses is listed with its one-line reason.

Writes lite_knobs_<model>.json and .md into --output_dir.

Usage: bazel run //bench:lite_knobs -- [--model efficientnet_lite0] [--iters 80] [--output_dir bench/results]
"""
import os
import time

from absl import app, flags

from mgedeploy.cli import quiet

quiet.import_megengine()

import numpy as np  # noqa: E402

from mgedeploy import contract  # noqa: E402
from mgedeploy.cli import paths  # noqa: E402
from mgedeploy.lite import runner as lite_runner  # noqa: E402
from bench import machine, results_io  # noqa: E402

MODEL = flags.DEFINE_string("model", "efficientnet_lite0", "Model in testdata/.")
ITERS = flags.DEFINE_integer("iters", 80, "Timed runs per variant (after 5 untimed).", lower_bound=1)
OUTPUT_DIR = flags.DEFINE_string("output_dir", None, results_io.OUTPUT_DIR_HELP)

WARMUP = 5


def variants(lite):
    """name: (NCHW88?, how the network is set up before its load, after it)."""
    policy = lite.LiteAlgoSelectStrategy
    profile = policy.LITE_ALGO_PROFILE
    table = {
        "NCHW88": (True, None, None),
        "NCHW88 + CPU in-place mode": (True, lambda n: n.enable_cpu_inplace_mode(), None),
        "NCHW88 + fast-run": (True, lambda n: n.set_network_algo_policy(profile), None),
        "NCHW88 + fast-run REPRODUCIBLE": (
            True, lambda n: n.set_network_algo_policy(profile | policy.LITE_ALGO_REPRODUCIBLE), None),
        "NCHW88 + fast-run + 16 MB workspace limit": (True, lambda n: n.set_network_algo_policy(profile),
                                                      lambda n: n.set_network_algo_workspace_limit(16 << 20)),
        "NCHW + fast-run": (False, lambda n: n.set_network_algo_policy(profile), None),
    }
    return table


def load(lite, path, nchw88, before, after):
    config = lite.LiteConfig()
    config.options.weight_preprocess = True
    config.options.const_shape = True
    config.options.comp_node_seq_record_level = 1
    config.options.enable_nchw88 = nchw88
    network = lite.LiteNetwork(config)
    if before:
        before(network)
    else:
        network.threads_number = 1
    network.load(path)
    if after:
        after(network)
    return network


def run(network, data):
    network.get_io_tensor(network.get_input_name(0)).set_data_by_copy(data)
    network.forward()
    network.wait()
    return network.get_io_tensor(network.get_output_name(0)).to_numpy()


def main(argv):
    if len(argv) > 1:
        raise app.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    lite = lite_runner.megenginelite()  # applies the Xbyak AMD fix first
    path = os.path.join(paths.REPO_ROOT, "testdata", MODEL.value + ".mge")
    info = contract.read(path)
    data = np.random.default_rng(0).uniform(-1, 1, info["input"]["shape"]).astype(np.float32)
    networks, refused = {}, {}
    for name, (nchw88, before, after) in variants(lite).items():
        print("loading %s..." % name, flush=True)
        try:
            networks[name] = load(lite, path, nchw88, before, after)
        except RuntimeError as e:  # Lite's errors carry a backtrace: the first line says it
            refused[name] = next((line.strip() for line in str(e).splitlines() if "extra message" in line),
                                 str(e).strip().splitlines()[0])
    outputs = {name: run(n, data).copy() for name, n in networks.items()}
    times = {name: [] for name in networks}
    for i in range(WARMUP + ITERS.value):
        for name, network in networks.items():
            start = time.perf_counter()
            run(network, data)
            if i >= WARMUP:
                times[name].append((time.perf_counter() - start) * 1e3)
    reference = outputs["NCHW88"]
    rows = [{"variant": name, "median_ms": float(np.median(t)), "p10_ms": float(np.percentile(t, 10)),
             "max_abs_diff_vs_nchw88": float(np.abs(outputs[name] - reference).max())} for name, t in times.items()]
    report = {"model": MODEL.value, "iters": ITERS.value, "machine": machine.describe(), "rows": rows,
              "refused": refused}
    lines = ["# Lite knobs on %s (%s, 1 thread, alternating run by run, %d runs each)" % (
        MODEL.value, report["machine"]["cpu"], ITERS.value), "",
        "| variant | median ms | p10 ms | max abs diff from NCHW88 |", "| --- | --- | --- | --- |"]
    lines += ["| %s | %.2f | %.2f | %.3g |" % (r["variant"], r["median_ms"], r["p10_ms"], r["max_abs_diff_vs_nchw88"])
              for r in rows]
    lines += ["| %s | refused: %s | | |" % (name, why) for name, why in refused.items()]
    table = "\n".join(lines) + "\n"
    results_io.save(results_io.output_dir(OUTPUT_DIR.value), "lite_knobs_" + MODEL.value, report, table)
    print(table)
    return 0


if __name__ == "__main__":
    app.run(main)
