"""The AMD fix from Python: megenginelite's first load applies it (on an AMD CPU; elsewhere it
says it is not needed and writes nothing), once; a library that is not built is one line, not an
error; and Lite still runs NCHW88 after it, giving NCHW's answer."""
import ctypes
import os
import sys

import numpy as np
import pytest

from mgedeploy.lite import runner, xbyak_amd_fix
from mgedeploy.lite.options import LiteOptions
from tests import fixtures

MODEL = fixtures.LITE0
# NCHW88 reorders the convolutions' sums: float32 rounding of the softmax (5.7e-7 measured on a
# Zen 5 with the fix), far below export's 1e-4 check.
LAYOUT_TOLERANCE = 1e-5


def cpu_is_amd():
    with open("/proc/cpuinfo") as f:
        return "AuthenticAMD" in f.read(4096)


def test_loading_lite_applies_it_once():
    assert xbyak_amd_fix.apply.__defaults__[0][0].endswith("/mgedeploy/lite/libmegdeploy_xbyak_amd_fix.so")
    runner.megenginelite()
    status, reason = xbyak_amd_fix.apply()
    print(status, reason)
    assert "\n" not in reason
    assert status == ("applied" if cpu_is_amd() else "not_needed"), reason
    # The outcome of the first call is kept; the C function itself now changes nothing.
    assert xbyak_amd_fix.apply() == (status, reason)
    library = ctypes.CDLL(next(p for p in xbyak_amd_fix.CANDIDATE_PATHS if os.path.exists(p)))
    again = library.megdeploy_xbyak_amd_fix_apply(None, ctypes.c_size_t(0))
    assert xbyak_amd_fix.STATUSES[again] == ("already_applied" if cpu_is_amd() else "not_needed")


def test_a_missing_library_is_one_line():
    status, reason = xbyak_amd_fix._apply(["/nonexistent/libmegdeploy_xbyak_amd_fix.so"])
    assert status == "not_built"
    assert reason == "not applied: lite/libmegdeploy_xbyak_amd_fix.so is missing (build //py:lite)"


def test_nchw88_still_gives_nchws_answer():
    sample = np.random.RandomState(0).rand(1, 3, 224, 224).astype(np.float32)
    plain = runner.LiteRunner(MODEL, "data").run(sample)
    blocked = runner.LiteRunner(MODEL, "data", options=LiteOptions(nchw88=True)).run(sample)
    assert np.abs(plain - blocked).max() <= LAYOUT_TOLERANCE


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-s", "-p", "no:cacheprovider"]))
