"""Times an exported model from Python: under megenginelite, eager MegEngine, or ONNX Runtime.

The flags are those of //cc:benchmark. For `eager` and `onnxruntime` the model is rebuilt from the
`.mge`'s contract (same definition, same weights): ONNX Runtime runs a graph built op by op from
it (peers/onnx_graph.py) with every graph optimisation on.

Lite runs with the model's best settings (the contract's, as the inference programs) unless
`--lite_options default`; the explicit Lite flags are added on top of that base.

Usage (from the wheel: `mgedeploy benchmark`, with the same flags):
  bazel run //py:benchmark -- -m efficientnet_lite0_deploy.mge [--runtime lite|eager|onnxruntime]
      [--iters 50] [--warmup 5] [--threads 1] [--input random|IMAGE] [--json]
      [--lite_options best|default] [--weight_preprocess] [--fast_run] [--fast_run_cache FILE]
      [--layout_transform] [--record_level 0|1|2] [--nchw44] [--nchw88] [--profile FILE]
Prints load time, first run, then min / median / p90 / max / std of per-iteration latency.
"""
import json
import time

from mgedeploy.cli import program

program.prepare(__name__)

import numpy as np  # noqa: E402
from absl import flags  # noqa: E402

from mgedeploy import classifier, extras, model_encryption, preprocess  # noqa: E402
from mgedeploy.cli import model_key_flag, paths, progress, usage  # noqa: E402
from mgedeploy.lite import options as lite_options  # noqa: E402
from mgedeploy.lite import xbyak_amd_fix  # noqa: E402

MODEL = flags.DEFINE_string("model", "efficientnet_lite0_deploy.mge", "The exported .mge model.", short_name="m")
RUNTIME = flags.DEFINE_enum("runtime", "lite", ["lite", "eager", "onnxruntime"], "What runs the model.")
ITERS = flags.DEFINE_integer("iters", 50, "Timed iterations.")
WARMUP = flags.DEFINE_integer("warmup", 5, "Untimed iterations after the first run.")
THREADS = flags.DEFINE_integer("threads", 1, "CPU threads.")
INPUT = flags.DEFINE_string("input", "random", "'random' (seeded) or an image, preprocessed per the contract.")
JSON = flags.DEFINE_bool("json", False, "Print the numbers as one JSON object.")
LITE_OPTIONS = flags.DEFINE_enum(
    "lite_options", "best", lite_options.CHOICES,
    "Lite: the base settings; best: the contract's (as the inference programs), default: Lite's own.")
WEIGHT_PREPROCESS = flags.DEFINE_bool("weight_preprocess", False, "Lite: transform weights once at load.")
FAST_RUN = flags.DEFINE_bool("fast_run", False, "Lite: profile kernels on the first run and keep the fastest.")
FAST_RUN_CACHE = flags.DEFINE_string("fast_run_cache", None, "Lite: read/save fast-run results in this file.")
LAYOUT_TRANSFORM = flags.DEFINE_bool("layout_transform", False, "Lite: global layout transform.")
RECORD_LEVEL = flags.DEFINE_enum("record_level", None, ["0", "1", "2"],
                                 "Lite: computing-sequence record level (default: the base settings').")
NCHW44 = flags.DEFINE_bool("nchw44", False, "Lite: NCHW44 layout.")
NCHW88 = flags.DEFINE_bool("nchw88", False, "Lite: NCHW88 layout.")
PROFILE = flags.DEFINE_string("profile", None, "Lite: write the per-op profile (JSON) here.")

# The shared flags are this program's too: listed by --help, not only --helpfull.
flags.adopt_module_key_flags(model_key_flag)

NAME = "benchmark"
LITE_ONLY = (WEIGHT_PREPROCESS, FAST_RUN, FAST_RUN_CACHE, LAYOUT_TRANSFORM, NCHW44, NCHW88, PROFILE, RECORD_LEVEL)


def lite_options_from_flags(info, model_path, cache_file=None):
    """The contract's best (or Lite's default) options, with the explicit flags on top. cache_file:
    a packed model's embedded fast-run cache, put in a file (lite_options.embedded_cache_file)."""
    base, _ = lite_options.options_for(info, model_path, LITE_OPTIONS.value, cache_file=cache_file)
    cache = paths.user_path(FAST_RUN_CACHE.value) if FAST_RUN_CACHE.value else base.fast_run_cache
    return lite_options.LiteOptions(
        weight_preprocess=base.weight_preprocess or WEIGHT_PREPROCESS.value,
        record_level=int(RECORD_LEVEL.value) if RECORD_LEVEL.value is not None else base.record_level,
        nchw88=base.nchw88 or NCHW88.value,
        fast_run=base.fast_run or FAST_RUN.value,
        fast_run_cache=cache,
        nchw44=NCHW44.value,
        layout_transform=LAYOUT_TRANSFORM.value,
        profile_json=paths.user_path(PROFILE.value) if PROFILE.value else None)


def options_summary(options):
    if RUNTIME.value == "onnxruntime":
        return "ORT_ENABLE_ALL"
    if RUNTIME.value == "eager":
        return "default"
    chosen = [("weight_preprocess", options.weight_preprocess),
              ("fast_run", options.fast_run),
              ("layout_transform", options.layout_transform),
              ("record%d" % options.record_level, options.record_level != 0),
              ("nchw44", options.nchw44),
              ("nchw88", options.nchw88)]
    return "+".join(name for name, on in chosen if on) or "default"


def lite_runner_fn(model, info, options):
    from mgedeploy.lite import runner as lite_runner

    # Only a --fast_run_cache of the user's is written (a missing one starts empty): the contract's
    # cache is the model's, checked by its SHA-256.
    cache = options.fast_run_cache if FAST_RUN_CACHE.value else None
    start = time.perf_counter()
    runner = lite_runner.LiteRunner(model, info["input"]["name"], threads=THREADS.value, options=options)
    load_ms = (time.perf_counter() - start) * 1e3

    def save_cache():
        if cache:
            runner.save_fast_run_cache(cache)

    return lambda data: runner.run(data), save_cache, load_ms


def eager_runner_fn(info):
    import megengine
    import megengine.functional as F

    from mgedeploy.peers import eager as eager_model

    megengine.set_default_device("cpu0" if THREADS.value == 1 else "multithread%d:0" % THREADS.value)
    start = time.perf_counter()  # eager "load": building the model and loading its weights
    model = eager_model.from_contract(info)
    load_ms = (time.perf_counter() - start) * 1e3
    return lambda data: F.softmax(model(megengine.tensor(data))).numpy(), lambda: None, load_ms


def onnxruntime_runner_fn(info):
    from mgedeploy.peers import onnx_session

    serialized = onnx_session.serialized_graph(info)
    start = time.perf_counter()  # ORT "load": creating the session from the serialized graph
    session = onnx_session.session(serialized, THREADS.value)
    load_ms = (time.perf_counter() - start) * 1e3
    name = info["input"]["name"]
    return lambda data: session.run(None, {name: data})[0], lambda: None, load_ms


def summarise(samples):
    a = np.asarray(samples)
    return {"min_ms": float(a.min()), "median_ms": float(np.percentile(a, 50)), "p90_ms": float(np.percentile(a, 90)),
            "max_ms": float(a.max()), "std_ms": float(a.std())}


def check_flags():
    usage.positive("--iters", ITERS.value)
    usage.positive("--threads", THREADS.value)
    if WARMUP.value < 0:
        raise usage.UsageError("--warmup must be 0 or more, got %d" % WARMUP.value)
    if RUNTIME.value != "lite" and any(f.present for f in LITE_ONLY + (LITE_OPTIONS,)):
        raise usage.UsageError("Lite options apply to --runtime lite only")
    if PROFILE.value and RECORD_LEVEL.value not in (None, "0"):
        # Measured here: Lite 1.13 with a recorded sequence and profiling on spins forever.
        raise usage.UsageError("--profile cannot be combined with --record_level 1 or 2 (Lite hangs)")


def main(argv):
    if len(argv) > 1:
        raise usage.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    check_flags()
    missing_extra = RUNTIME.value == "onnxruntime" and extras.problem("bench")
    if missing_extra:
        return program.fail(NAME, "--runtime onnxruntime " + missing_extra)
    model_path = paths.user_path(MODEL.value)
    try:
        # A sidecar or a packed model: the graph's bytes (read once, checked), the contract, and an
        # embedded fast-run cache, which Lite reads from a temporary file while the network loads.
        key = model_key_flag.key()
        model, info, embedded_cache = classifier.read_model(model_path, key)
        shape = info["input"]["shape"]
        if INPUT.value == "random":
            data = np.random.default_rng(0).uniform(-1, 1, size=shape).astype(np.float32)
        else:
            # The image once per slot of the graph's batch (export --batch).
            data = np.repeat(preprocess.load(paths.user_path(INPUT.value), info["preprocess"]), shape[0], axis=0)
        options = None
        if RUNTIME.value == "lite":
            with lite_options.embedded_cache_file(embedded_cache) as cache_file:
                options = lite_options_from_flags(info, model_path, cache_file)
                if options.profile_json and options.record_level:
                    options.record_level = 0  # profiling needs the plain sequence (see check_flags)
                run, save_cache, load_ms = lite_runner_fn(model, info, options)
        elif RUNTIME.value == "eager":
            run, save_cache, load_ms = eager_runner_fn(info)
        else:
            run, save_cache, load_ms = onnxruntime_runner_fn(info)
        start = time.perf_counter()
        run(data)
        first_ms = (time.perf_counter() - start) * 1e3
        for _ in range(WARMUP.value):
            run(data)
        samples = []
        with progress.bar(ITERS.value, "timing") as bar:
            for _ in range(ITERS.value):
                start = time.perf_counter()
                run(data)
                samples.append((time.perf_counter() - start) * 1e3)
                bar.update(1)
        save_cache()  # at the end: everything fast-run profiled, in any run, is in the cache
    except Exception as e:  # contract, image, Lite, weights: all reported in one line
        return program.fail(NAME, (str(e).strip().splitlines() or [type(e).__name__])[0])
    runtime = {"lite": "lite_py", "eager": "eager", "onnxruntime": "onnxruntime"}[RUNTIME.value]
    result = {"runtime": runtime, "model": paths.shown(model_path), "options": options_summary(options),
              "threads": THREADS.value, "batch": shape[0], "iters": ITERS.value, "warmup": WARMUP.value,
              "load_ms": load_ms, "first_ms": first_ms, **summarise(samples), "samples_ms": samples}
    result["images_per_s"] = shape[0] * 1e3 / result["median_ms"]
    if RUNTIME.value == "lite":
        result["xbyak_amd_fix"] = xbyak_amd_fix.apply()[1]
    if JSON.value:
        print(json.dumps(result))
    else:
        print("model %s, %s, %d thread(s), batch %d, options %s" % (result["model"], runtime, THREADS.value, shape[0],
                                                                   result["options"]))
        print("load %.1f ms, first run %.2f ms" % (load_ms, first_ms))
        print("%d iterations: min %.2f  median %.2f  p90 %.2f  max %.2f  std %.2f ms"
              % (ITERS.value, result["min_ms"], result["median_ms"], result["p90_ms"], result["max_ms"], result["std_ms"]))
        print("%.1f images/s" % result["images_per_s"])
    return 0


if __name__ == "__main__":
    program.run(main, NAME)
