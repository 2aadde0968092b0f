"""Chooses, at export time, the fastest exact Lite settings for a model on this machine.

Two candidates, both with weight preprocessing and a recorded kernel sequence (record level 1):
- "nchw":   NCHW layout with fast-run kernels (searched once, saved to `<model>.fastrun`);
- "nchw88": the x86 NCHW88 layout with Lite's heuristic kernels.
Which wins depends on the model (measured, README "Speed": NCHW88 takes EfficientNet-Lite0 from
~19 to ~13 ms but ShuffleNetV2 from ~8 to ~16 ms on this machine kind), so both are timed. NCHW88
convolutions can reach oneDNN JIT kernels that, on some CPUs (seen: AMD Zen 4 with AVX-512), exit
from a worker thread ("bad err=45 in Xbyak::Error") and then deadlock, so every candidate runs in
a child process with a timeout; a candidate counts only if it exits cleanly with output within
the export tolerance of the eager model. The contract records the CPU the choice was made on: on
another CPU the inference programs do not trust it (lite_runner.options_for).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

CANDIDATES = ("nchw", "nchw88")
WARMUP_RUNS = 5
TIMED_RUNS = 40
TIMEOUT_S = {"nchw": 600, "nchw88": 120}  # the fast-run search takes ~40 s for EfficientNet-Lite0
BASE = {"weight_preprocess": True, "record_level": 1}


def cpu_fingerprint():
    """The first CPU's model name and flags from /proc/cpuinfo (what kernels a CPU can run)."""
    found = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "flags") and key not in found:
                    found[key] = value.strip()
    except OSError:
        pass
    return {"model_name": found.get("model name", ""), "flags": found.get("flags", "")}


def candidate_settings(name, cache_name):
    if name == "nchw88":
        return dict(BASE, nchw88=True)
    return dict(BASE, nchw88=False, fast_run_cache=cache_name)


def run_child(args, timeout):
    """Runs this file as a child process: (its last stdout line as JSON, or None; what happened)."""
    command = [sys.executable, os.path.abspath(__file__)] + args
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    try:
        result = subprocess.run(command, capture_output=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return None, "hung: killed after %d s" % timeout
    if result.returncode != 0:
        lines = result.stderr.decode(errors="replace").strip().splitlines()
        status = "signal %d" % -result.returncode if result.returncode < 0 else "status %d" % result.returncode
        return None, "failed (%s): %s" % (status, lines[-1] if lines else "no message")
    return json.loads(result.stdout.decode().strip().splitlines()[-1]), "ran"


def choose(model_path, input_name, sample, eager, tolerance, cache_path):
    """Returns the contract's "lite" section for `model_path` on this machine. The fast-run
    candidate's cache is left at `cache_path` + ".tmp" when it is chosen (export renames it)."""
    print("Choosing Lite settings for this machine (each candidate in a child process)...", flush=True)
    cache_tmp = cache_path + ".tmp"
    usable = []
    with tempfile.TemporaryDirectory() as tmp:
        sample_path = os.path.join(tmp, "sample.npy")
        np.save(sample_path, sample)
        # First each alone, for safety and exactness (and the fast-run search)...
        for name in CANDIDATES:
            output_path = os.path.join(tmp, name + ".npy")
            result, what = run_child(["check", name, model_path, input_name, sample_path, output_path, cache_tmp],
                                     TIMEOUT_S[name])
            if result is not None:
                diff = float(np.max(np.abs(np.load(output_path) - eager)))
                what = "exact (max abs difference from eager %.3g)" % diff
                if diff <= tolerance:
                    usable.append(name)
                else:
                    what = "output differs from eager by %.3g > %g" % (diff, tolerance)
            print("  %-6s (%s): %s" % (name, describe(candidate_settings(name, "")), what), flush=True)
        # ...then timed in one process, alternating run by run, so that whatever else the machine
        # does (a parallel build) weighs on both alike.
        medians = {}
        if len(usable) > 1:
            result, what = run_child(["race", model_path, input_name, sample_path, cache_tmp], TIMEOUT_S["nchw88"])
            if result is None:
                print("  timing both failed (%s): keeping NCHW" % what)
                usable = ["nchw"]
            else:
                medians = {name: round(result[name], 2) for name in usable}
                print("  medians, alternating runs: " + ", ".join("%s %.2f ms" % kv for kv in medians.items()))
    if not usable:
        print("  neither candidate is usable here: the inference programs use Lite's defaults")
        return {"cpu": cpu_fingerprint()}
    best = min(usable, key=lambda name: medians.get(name, 0))
    print("  chosen: %s" % best, flush=True)
    settings = candidate_settings(best, os.path.basename(cache_path))
    if best == "nchw":
        from mgedeploy import contract  # here, not at the top: the child process never needs it

        settings["fast_run_cache_sha256"] = contract.file_digest(cache_tmp)
    elif os.path.exists(cache_tmp):
        os.remove(cache_tmp)
    settings["cpu"] = cpu_fingerprint()
    settings["median_ms"] = medians
    return settings


def describe(settings):
    parts = ["NCHW88" if settings.get("nchw88") else "NCHW"]
    if settings.get("fast_run_cache") is not None:
        parts.append("fast-run")
    if settings.get("weight_preprocess"):
        parts.append("weight preprocess")
    if settings.get("record_level"):
        parts.append("record level %d" % settings["record_level"])
    return " + ".join(parts)


def _runner(name, model_path, input_name, cache_path):
    from mgedeploy import lite_runner

    settings = candidate_settings(name, cache_path)
    options = lite_runner.LiteOptions.from_settings(settings, fast_run_cache=settings.get("fast_run_cache"))
    return lite_runner.LiteClassifier(model_path, input_name, options=options)


def _check(name, model_path, input_name, sample_path, output_path, cache_path):
    """Child: one candidate's output on the sample (with fast-run, its search, saved to cache_path)."""
    runner = _runner(name, model_path, input_name, cache_path)
    output = runner.run(np.load(sample_path))
    if runner.options.fast_run_cache:
        runner.save_fast_run_cache(cache_path)
    np.save(output_path, output)
    print(json.dumps({"ok": True}))
    return 0


def _race(model_path, input_name, sample_path, cache_path):
    """Child: both candidates loaded, run alternately; prints each one's median in ms."""
    import time

    sample = np.load(sample_path)
    runners = {name: _runner(name, model_path, input_name, cache_path) for name in CANDIDATES}
    times = {name: [] for name in CANDIDATES}
    for i in range(WARMUP_RUNS + TIMED_RUNS):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner.run(sample)
            if i >= WARMUP_RUNS:
                times[name].append((time.perf_counter() - start) * 1e3)
    print(json.dumps({name: float(np.median(t)) for name, t in times.items()}))
    return 0


if __name__ == "__main__":
    sys.exit({"check": _check, "race": _race}[sys.argv[1]](*sys.argv[2:]))
