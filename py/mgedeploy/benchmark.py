"""Times an exported model from Python: under megenginelite, eager MegEngine, or ONNX Runtime.

The flags are those of //cc:benchmark. For `eager` and `onnxruntime` the model is rebuilt from the
`.mge`'s contract (same definition, same weights): ONNX Runtime runs a graph built op by op from
it (onnx_export.py) with every graph optimisation on.

Usage:
  bazel run //py:benchmark -- -m efficientnet_lite0_deploy.mge [--runtime lite|eager|onnxruntime]
      [--iters 50] [--warmup 5] [--threads 1] [--input random|IMAGE] [--json]
      [--weight_preprocess] [--fast_run] [--fast_run_cache FILE] [--layout_transform]
      [--record_level 0|1|2] [--nchw44] [--nchw88] [--profile FILE]      (Lite options)
Prints load time, first run, then min / median / p90 / max / std of per-iteration latency.
"""
import json
import os
import sys
import time

from absl import app, flags

from mgedeploy import quiet

quiet.import_megengine()

import numpy as np  # noqa: E402

from mgedeploy import cli, contract, paths, preprocess  # noqa: E402

MODEL = flags.DEFINE_string("model", "efficientnet_lite0_deploy.mge", "The exported .mge model.", short_name="m")
RUNTIME = flags.DEFINE_enum("runtime", "lite", ["lite", "eager", "onnxruntime"], "What runs the model.")
ITERS = flags.DEFINE_integer("iters", 50, "Timed iterations.", lower_bound=1)
WARMUP = flags.DEFINE_integer("warmup", 5, "Untimed iterations after the first run.", lower_bound=0)
THREADS = flags.DEFINE_integer("threads", 1, "CPU threads.", lower_bound=1)
INPUT = flags.DEFINE_string("input", "random", "'random' (seeded) or an image, preprocessed per the contract.")
JSON = flags.DEFINE_bool("json", False, "Print the numbers as one JSON object.")
WEIGHT_PREPROCESS = flags.DEFINE_bool("weight_preprocess", False, "Lite: transform weights once at load.")
FAST_RUN = flags.DEFINE_bool("fast_run", False, "Lite: profile kernels on the first run and keep the fastest.")
FAST_RUN_CACHE = flags.DEFINE_string("fast_run_cache", None, "Lite: read/save fast-run results in this file.")
LAYOUT_TRANSFORM = flags.DEFINE_bool("layout_transform", False, "Lite: global layout transform.")
RECORD_LEVEL = flags.DEFINE_enum("record_level", "0", ["0", "1", "2"], "Lite: computing-sequence record level.")
NCHW44 = flags.DEFINE_bool("nchw44", False, "Lite: NCHW44 layout.")
NCHW88 = flags.DEFINE_bool("nchw88", False, "Lite: NCHW88 layout.")
PROFILE = flags.DEFINE_string("profile", None, "Lite: write the per-op profile (JSON) here.")

LITE_ONLY = (WEIGHT_PREPROCESS, FAST_RUN, FAST_RUN_CACHE, LAYOUT_TRANSFORM, NCHW44, NCHW88, PROFILE)


def options_summary():
    if RUNTIME.value == "onnxruntime":
        return "ORT_ENABLE_ALL"
    chosen = [("weight_preprocess", WEIGHT_PREPROCESS.value),
              ("fast_run", FAST_RUN.value or bool(FAST_RUN_CACHE.value)),
              ("layout_transform", LAYOUT_TRANSFORM.value),
              ("record" + RECORD_LEVEL.value, RECORD_LEVEL.value != "0"),
              ("nchw44", NCHW44.value),
              ("nchw88", NCHW88.value)]
    return "+".join(name for name, on in chosen if on) or "default"


def lite_runner_fn(model_path, info):
    from megenginelite import LiteConfig, LiteGlobal, LiteNetwork, LiteAlgoSelectStrategy

    config = LiteConfig()
    config.options.weight_preprocess = WEIGHT_PREPROCESS.value
    config.options.comp_node_seq_record_level = int(RECORD_LEVEL.value)
    config.options.const_shape = RECORD_LEVEL.value != "0"  # recording needs fixed shapes
    config.options.enable_nchw44 = NCHW44.value
    config.options.enable_nchw88 = NCHW88.value
    network = LiteNetwork(config=config)
    network.threads_number = THREADS.value
    cache = paths.user_path(FAST_RUN_CACHE.value) if FAST_RUN_CACHE.value else None
    if cache and os.path.exists(cache):
        LiteGlobal.set_persistent_cache(cache)
    if LAYOUT_TRANSFORM.value:
        network.enable_global_layout_transform()
    if FAST_RUN.value or cache:
        network.set_network_algo_policy(LiteAlgoSelectStrategy.LITE_ALGO_PROFILE | LiteAlgoSelectStrategy.LITE_ALGO_REPRODUCIBLE)
    if PROFILE.value:
        network.enable_profile_performance(paths.user_path(PROFILE.value))
    start = time.perf_counter()
    network.load(model_path)
    load_ms = (time.perf_counter() - start) * 1e3
    tensor = network.get_io_tensor(info["input"]["name"])
    output = network.get_io_tensor(network.get_output_name(0))

    def run(data):
        tensor.set_data_by_copy(data)
        network.forward()
        network.wait()
        return output.to_numpy()

    def save_cache():
        if cache:
            LiteGlobal.dump_persistent_cache(cache)

    return run, save_cache, load_ms


def eager_runner_fn(info):
    import megengine
    import megengine.functional as F

    from mgedeploy import eager_model

    megengine.set_default_device("cpu0" if THREADS.value == 1 else "multithread%d:0" % THREADS.value)
    start = time.perf_counter()  # eager "load": building the model and loading its weights
    model = eager_model.from_contract(info)
    load_ms = (time.perf_counter() - start) * 1e3
    return lambda data: F.softmax(model(megengine.tensor(data))).numpy(), lambda: None, load_ms


def onnxruntime_runner_fn(info):
    import onnxruntime

    from mgedeploy import eager_model, onnx_export

    proto = onnx_export.build(info["model"], eager_model.from_contract(info), info["input"]["name"],
                              info["input"]["shape"])
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = THREADS.value
    options.inter_op_num_threads = 1
    serialized = proto.SerializeToString()
    start = time.perf_counter()  # ORT "load": creating the session from the serialized graph
    session = onnxruntime.InferenceSession(serialized, options, providers=["CPUExecutionProvider"])
    load_ms = (time.perf_counter() - start) * 1e3
    name = info["input"]["name"]
    return lambda data: session.run(None, {name: data})[0], lambda: None, load_ms


def summarise(samples):
    a = np.asarray(samples)
    return {"min_ms": float(a.min()), "median_ms": float(np.percentile(a, 50)), "p90_ms": float(np.percentile(a, 90)),
            "max_ms": float(a.max()), "std_ms": float(a.std())}


class Progress:
    """A one-line bar on stderr, shown once the loop has lasted 3 s, on terminals only."""

    def __init__(self, total):
        self.total, self.start, self.drawn = total, time.perf_counter(), False

    def update(self, done):
        if time.perf_counter() - self.start < 3 or not sys.stderr.isatty():
            return
        filled = 30 * done // self.total
        print("\r[%s%s] %d/%d" % ("#" * filled, "." * (30 - filled), done, self.total), end="", file=sys.stderr, flush=True)
        self.drawn = True

    def close(self):
        if self.drawn:
            print(file=sys.stderr)


def main(argv):
    if len(argv) > 1:
        raise app.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    if RUNTIME.value != "lite" and (any(f.value for f in LITE_ONLY) or RECORD_LEVEL.value != "0"):
        raise app.UsageError("Lite options apply to --runtime lite only")
    if PROFILE.value and RECORD_LEVEL.value != "0":
        # Measured here: Lite 1.13 with a recorded sequence and profiling on spins forever.
        raise app.UsageError("--profile cannot be combined with --record_level 1 or 2 (Lite hangs)")
    model_path = paths.user_path(MODEL.value)
    try:
        info = contract.read(model_path)
        shape = info["input"]["shape"]
        if INPUT.value == "random":
            data = np.random.default_rng(0).uniform(-1, 1, size=shape).astype(np.float32)
        else:
            data = preprocess.load(paths.user_path(INPUT.value), info["preprocess"])
        if RUNTIME.value == "lite":
            run, save_cache, load_ms = lite_runner_fn(model_path, info)
        elif RUNTIME.value == "eager":
            run, save_cache, load_ms = eager_runner_fn(info)
        else:
            run, save_cache, load_ms = onnxruntime_runner_fn(info)
        start = time.perf_counter()
        run(data)
        first_ms = (time.perf_counter() - start) * 1e3
        for _ in range(WARMUP.value):
            run(data)
        samples, progress = [], Progress(ITERS.value)
        for i in range(ITERS.value):
            start = time.perf_counter()
            run(data)
            samples.append((time.perf_counter() - start) * 1e3)
            progress.update(i + 1)
        progress.close()
        save_cache()  # at the end: everything fast-run profiled, in any run, is in the cache
    except Exception as e:  # contract, image, Lite, weights: all reported in one line
        print("benchmark: %s" % (str(e).strip().splitlines() or [type(e).__name__])[0], file=sys.stderr)
        quiet.drop_native_output()
        return 1
    runtime = {"lite": "lite_py", "eager": "eager", "onnxruntime": "onnxruntime"}[RUNTIME.value]
    result = {"runtime": runtime, "model": paths.shown(model_path), "options": options_summary(),
              "threads": THREADS.value, "iters": ITERS.value, "warmup": WARMUP.value, "load_ms": load_ms,
              "first_ms": first_ms, **summarise(samples), "samples_ms": samples}
    if JSON.value:
        print(json.dumps(result))
    else:
        print("model %s, %s, %d thread(s), options %s" % (result["model"], runtime, THREADS.value, result["options"]))
        print("load %.1f ms, first run %.2f ms" % (load_ms, first_ms))
        print("%d iterations: min %.2f  median %.2f  p90 %.2f  max %.2f  std %.2f ms"
              % (ITERS.value, result["min_ms"], result["median_ms"], result["p90_ms"], result["max_ms"], result["std_ms"]))
    return 0


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser("benchmark"))
