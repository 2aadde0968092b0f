"""Chooses, at export time, the fastest exact Lite settings for a model on this machine.

Two candidates, both with weight preprocessing and a recorded kernel sequence (record level 1):
- "nchw":   NCHW layout with fast-run kernels (searched once, saved to `<model>.fastrun`);
- "nchw88": the x86 NCHW88 layout with Lite's heuristic kernels.
Which wins depends on the model (measured, README "Speed": NCHW88 takes EfficientNet-Lite0 from
~19 to ~13 ms and ShuffleNetV2 from ~8 to ~16 ms on this machine kind), so each is timed. NCHW88
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

TIMED_RUNS = 30
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


def run_candidate(name, model_path, input_name, sample_path, cache_path):
    """Runs one candidate in a child process: ({"output", "median_ms"} or None, what happened)."""
    with tempfile.TemporaryDirectory() as tmp:
        output_path = os.path.join(tmp, "output.npy")
        command = [sys.executable, os.path.abspath(__file__), name, model_path, input_name, sample_path,
                   output_path, cache_path]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        try:
            result = subprocess.run(command, capture_output=True, timeout=TIMEOUT_S[name], env=env)
        except subprocess.TimeoutExpired:
            return None, "hung: killed after %d s" % TIMEOUT_S[name]
        if result.returncode != 0:
            lines = result.stderr.decode(errors="replace").strip().splitlines()
            status = "signal %d" % -result.returncode if result.returncode < 0 else "status %d" % result.returncode
            return None, "failed (%s): %s" % (status, lines[-1] if lines else "no message")
        timing = json.loads(result.stdout.decode().strip().splitlines()[-1])
        return {"output": np.load(output_path), "median_ms": timing["median_ms"]}, "ran"


def choose(model_path, input_name, sample, eager, tolerance, cache_path):
    """Times the candidates on `model_path`; returns the contract's "lite" section. The fast-run
    candidate leaves its cache at `cache_path` + ".tmp" when it is chosen (export renames it)."""
    print("Choosing Lite settings for this machine (each candidate in a child process)...", flush=True)
    cache_tmp = cache_path + ".tmp"
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        sample_path = os.path.join(tmp, "sample.npy")
        np.save(sample_path, sample)
        for name in ("nchw", "nchw88"):
            result, what = run_candidate(name, model_path, input_name, sample_path, cache_tmp)
            if result is not None:
                diff = float(np.max(np.abs(result["output"] - eager)))
                if diff <= tolerance:
                    results[name] = result["median_ms"]
                    what = "median %.2f ms, max abs difference from eager %.3g" % (result["median_ms"], diff)
                else:
                    what = "output differs from eager by %.3g > %g" % (diff, tolerance)
            print("  %-6s (%s): %s" % (name, describe(candidate_settings(name, "")), what), flush=True)
    if not results:
        print("  neither candidate is usable here: the inference programs use Lite's defaults")
        return {"cpu": cpu_fingerprint()}
    best = min(results, key=results.get)
    print("  chosen: %s" % best)
    if best != "nchw" and os.path.exists(cache_tmp):
        os.remove(cache_tmp)
    settings = candidate_settings(best, os.path.basename(cache_path))
    if best == "nchw":
        from mgedeploy import contract  # here, not at the top: the child process never needs it

        settings["fast_run_cache_sha256"] = contract.file_digest(cache_tmp)
    settings["cpu"] = cpu_fingerprint()
    settings["median_ms"] = {name: round(ms, 2) for name, ms in results.items()}
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


def _child(name, model_path, input_name, sample_path, output_path, cache_path):
    import time

    from mgedeploy import lite_runner

    settings = candidate_settings(name, cache_path)
    options = lite_runner.LiteOptions(settings["weight_preprocess"], settings["record_level"], settings["nchw88"],
                                      fast_run_cache=settings.get("fast_run_cache"))
    runner = lite_runner.LiteClassifier(model_path, input_name, options=options)
    sample = np.load(sample_path)
    output = runner.run(sample)  # with fast-run, this run does the search
    if options.fast_run_cache:
        runner.save_fast_run_cache(options.fast_run_cache)
    for _ in range(3):
        runner.run(sample)
    times = []
    for _ in range(TIMED_RUNS):
        start = time.perf_counter()
        runner.run(sample)
        times.append((time.perf_counter() - start) * 1e3)
    np.save(output_path, output)
    print(json.dumps({"median_ms": float(np.median(times))}))
    return 0


if __name__ == "__main__":
    sys.exit(_child(*sys.argv[1:]))
