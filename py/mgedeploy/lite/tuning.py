"""Chooses, at export time, the fastest exact Lite settings for a model on this machine.

Two candidates (options.CANDIDATES), both with weight preprocessing and a recorded kernel sequence (record level 1):
- "nchw":   NCHW layout with fast-run kernels (searched once, saved to `<model>.fastrun`);
- "nchw88": the x86 NCHW88 layout with Lite's heuristic kernels.
Which wins depends on the model (measured on a Zen 5, docs/speed.md: NCHW88 takes
EfficientNet-Lite0 from ~14 to ~10 ms but ShuffleNetV2 from ~5 to ~7.7 ms), so both are timed.
Not candidates, measured: NCHW88 + fast-run (the same kernels as NCHW88, bit for bit) and the
global layout transform (never faster than NCHW88, after ~50 s of layout search at every load).
On AMD CPUs with AVX-512, NCHW88 convolutions reach oneDNN code that exits from a worker thread
("bad err=45 in Xbyak::Error") and deadlocks unless xbyak_amd_fix.py has applied its fix (it
refuses a library it does not know), so every candidate still runs in a child process with a
timeout; a candidate counts only if it exits cleanly with output within the export tolerance of
the eager model. The contract records the CPU the choice was made on: on another CPU the inference
programs do not trust it (options.py).

The children run probe.py. With `mode="fixed:NAME"` nothing is timed: one candidate is checked
for exactness and recorded (build-time test models use this, so builds are deterministic).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

from mgedeploy import contract
from mgedeploy.lite import options as lite_options
from mgedeploy.lite import probe

# A candidate's check is a load and one run (a few seconds; the fast-run search ~40 s for
# EfficientNet-Lite0). NCHW88's failure mode is a deadlock, seen only as this timeout running out
# (on a Zen 4 before the Xbyak fix, every time), so its timeout is what such a CPU costs an export.
TIMEOUT_S = {"nchw": 600, "nchw88": 60}
MODES = ("auto", "none") + tuple("fixed:" + name for name in lite_options.CANDIDATES)


def run_probe(args, timeout):
    """Runs probe.py as a child process: (its last stdout line as JSON, or None; what happened)."""
    command = [sys.executable, probe.__file__] + args
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


def choose(model_path, input_name, sample, eager, tolerance, cache_path, mode="auto", say=print, timeouts=None):
    """Returns the contract's "lite" section for `model_path` on this machine. The fast-run
    candidate's cache is left at `cache_path` + ".tmp" when it is chosen (export renames it).
    mode: "auto" (check and time every candidate), "fixed:NAME" (check that one, time nothing) or
    "none" (record no settings: the programs use Lite's defaults). timeouts: seconds per candidate
    (default TIMEOUT_S)."""
    timeouts = timeouts or TIMEOUT_S
    if mode not in MODES:
        raise ValueError("lite settings mode must be one of %s, got %r" % (", ".join(MODES), mode))
    if mode == "none":
        return {}
    names = lite_options.CANDIDATES if mode == "auto" else (mode.split(":", 1)[1],)
    say("Choosing Lite settings for this machine (each candidate in a child process)...")
    cache_tmp = cache_path + ".tmp"
    usable = []
    with tempfile.TemporaryDirectory() as tmp:
        sample_path = os.path.join(tmp, "sample.npy")
        np.save(sample_path, sample)
        # First each alone, for safety and exactness (and the fast-run search)...
        for name in names:
            output_path = os.path.join(tmp, name + ".npy")
            result, what = run_probe(["check", name, model_path, input_name, sample_path, output_path, cache_tmp],
                                     timeouts[name])
            if result is not None:
                diff = float(np.max(np.abs(np.load(output_path) - eager)))
                what = "exact (max abs difference from eager %.3g)" % diff
                if diff <= tolerance:
                    usable.append(name)
                else:
                    what = "output differs from eager by %.3g > %g" % (diff, tolerance)
            candidate = lite_options.candidate_settings(name, "x")
            described = lite_options.LiteOptions.from_settings(
                candidate, fast_run_cache=candidate.get("fast_run_cache")).describe()
            say("  %-6s (%s): %s" % (name, described, what))
        # ...then timed in one process, alternating run by run, so that whatever else the machine
        # does (a parallel build) weighs on both alike.
        medians = {}
        if len(usable) > 1:
            result, what = run_probe(["race", model_path, input_name, sample_path, cache_tmp] + usable,
                                     timeouts["nchw88"])
            if result is None:
                say("  timing both failed (%s): keeping NCHW" % what)
                usable = ["nchw"]
            else:
                medians = {name: round(result[name], 2) for name in usable}
                say("  medians, alternating runs: " + ", ".join("%s %.2f ms" % kv for kv in medians.items()))
    if not usable:
        say("  no candidate is usable here: the inference programs use Lite's defaults")
        if os.path.exists(cache_tmp):
            os.remove(cache_tmp)
        return {"cpu": lite_options.cpu_fingerprint()}
    best = min(usable, key=lambda name: medians.get(name, 0))
    say("  chosen: %s%s" % (best, "" if mode == "auto" else " (fixed by --lite_settings, not timed)"))
    settings = lite_options.candidate_settings(best, os.path.basename(cache_path))
    if best == "nchw":
        settings["fast_run_cache_sha256"] = contract.file_digest(cache_tmp)
    elif os.path.exists(cache_tmp):
        os.remove(cache_tmp)
    settings["cpu"] = lite_options.cpu_fingerprint()
    settings["median_ms"] = medians
    return settings
