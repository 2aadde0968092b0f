"""The child process of the Lite settings choice (tuning.py): runs candidates where a crash or a
deadlock cannot take the exporting process with it.

  probe.py check NAME MODEL INPUT_NAME SAMPLE.npy OUTPUT.npy CACHE   one candidate's output
  probe.py race MODEL INPUT_NAME SAMPLE.npy CACHE NAME...           the candidates' medians, alternating
Each prints one JSON line on stdout when it succeeds.
"""
import json
import os
import sys
import time
from typing import Callable, Dict

if __name__ == "__main__":
    # Run as a file: make `mgedeploy` importable from the tree this file is in.
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import numpy as np  # noqa: E402

WARMUP_RUNS = 5
TIMED_RUNS = 40


def _runner(name, model_path, input_name, cache_path):
    from mgedeploy.lite import options, runner

    settings = options.candidate_settings(name, cache_path)
    lite = options.LiteOptions.from_settings(settings, fast_run_cache=settings.get("fast_run_cache"))
    return runner.LiteRunner(model_path, input_name, options=lite)


def check(name, model_path, input_name, sample_path, output_path, cache_path):
    """One candidate's output on the sample (with fast-run, its search, saved to cache_path)."""
    runner = _runner(name, model_path, input_name, cache_path)
    output = runner.run(np.load(sample_path))
    if runner.options.fast_run_cache:
        runner.save_fast_run_cache(cache_path)
    np.save(output_path, output)
    print(json.dumps({"ok": True}))
    return 0


def race(model_path, input_name, sample_path, cache_path, *names):
    """The candidates loaded together, run alternately; prints each one's median in ms."""
    sample = np.load(sample_path)
    runners = {name: _runner(name, model_path, input_name, cache_path) for name in names}
    times = {name: [] for name in names}
    for i in range(WARMUP_RUNS + TIMED_RUNS):
        for name, runner in runners.items():
            start = time.perf_counter()
            runner.run(sample)
            if i >= WARMUP_RUNS:
                times[name].append((time.perf_counter() - start) * 1e3)
    print(json.dumps({name: float(np.median(t)) for name, t in times.items()}))
    return 0


COMMANDS: Dict[str, Callable[..., int]] = {"check": check, "race": race}

if __name__ == "__main__":
    sys.exit(COMMANDS[sys.argv[1]](*sys.argv[2:]))
