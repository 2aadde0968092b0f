"""Several models, each with its own fast-run cache, in one process (what `serve --model a
--model b` does). Lite's fast-run cache belongs to the process, and each LiteRunner sets its
model's: does the last one set win for every model? Measured here, in fresh child processes: no.
In the wheel's Lite 1.13 a cache file set adds its entries to what the process holds (setting a
file that does not exist removes nothing), so every model still finds its own kernels.

The signal is whether a first run profiles: ShuffleNetV2's first run takes ~30 ms when its kernels
are in the cache and ~7 s when fast-run has to search (measured on a Zen 2); the bound, 2 s, sits
far from both."""
import json
import os
import subprocess
import sys
import time

if __name__ == "__main__":  # the child steps: make mgedeploy and tests importable from this tree
    _PY = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    sys.path[:0] = [_PY, os.path.dirname(_PY)]

import numpy as np  # noqa: E402

from tests import fixtures  # noqa: E402

SNET, TINY = fixtures.SNETV2, fixtures.TINY
SHAPES = {SNET: (1, 3, 224, 224), TINY: (1, 3, 8, 8)}
NOT_PROFILED_S = 2.0


def first_run_s(model, cache=None):
    from mgedeploy.lite import runner
    from mgedeploy.lite.options import LiteOptions

    network = runner.LiteRunner(model, "data", options=LiteOptions(fast_run=True, fast_run_cache=cache))
    start = time.perf_counter()
    network.run(np.zeros(SHAPES[model], np.float32))
    return time.perf_counter() - start, network


def child(*args):
    """Runs this file's child step in a fresh process: a process's fast-run cache starts empty."""
    result = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def make_cache(model, cache):
    """As export makes one: an empty cache, a run that searches, a save."""
    searched, network = first_run_s(model, cache)
    network.save_fast_run_cache(cache)
    return {"searched_s": searched}


def two_models(snet_cache, tiny_cache, dump):
    """ShuffleNetV2 with its cache, then the tiny model with its own (set after), then a second
    ShuffleNetV2 network: does it still find its kernels?"""
    first_run_s(SNET, snet_cache)
    first_run_s(TINY, tiny_cache)
    again, network = first_run_s(SNET, "/nonexistent/cache")  # sets a cache that adds nothing
    network.save_fast_run_cache(dump)
    return {"snet_after_tiny_s": again}


def test_each_model_keeps_its_own_cache(tmp_path):
    snet_cache, tiny_cache = str(tmp_path / "snet.fastrun"), str(tmp_path / "tiny.fastrun")
    searched = child("make_cache", SNET, snet_cache)["searched_s"]
    child("make_cache", TINY, tiny_cache)
    own = child("first_run", SNET, snet_cache)["first_s"]
    dump = str(tmp_path / "process.fastrun")
    after = child("two_models", snet_cache, tiny_cache, dump)["snet_after_tiny_s"]
    sizes = {name: os.path.getsize(path) for name, path in
             (("snet", snet_cache), ("tiny", tiny_cache), ("process", dump))}
    print("ShuffleNetV2's first run: searching %.2f s, with its cache %.3f s, after the tiny model's cache and "
          "a missing one were set %.3f s; cache bytes %s" % (searched, own, after, sizes))
    assert searched > NOT_PROFILED_S, "the signal is gone: fast-run no longer takes long to search"
    assert own < NOT_PROFILED_S and after < NOT_PROFILED_S
    # The process's cache holds both models' entries (less what the two files share).
    assert sizes["process"] >= 0.9 * (sizes["snet"] + sizes["tiny"])


if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] != "-q":
    step, args = sys.argv[1], sys.argv[2:]
    if step == "first_run":
        print(json.dumps({"first_s": first_run_s(args[0], args[1])[0]}))
    else:
        print(json.dumps({"make_cache": make_cache, "two_models": two_models}[step](*args)))
elif __name__ == "__main__":
    import pytest

    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider"]))
