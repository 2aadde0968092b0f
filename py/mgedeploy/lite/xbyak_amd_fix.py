"""The runtime fix for megengine 1.13's oneDNN on AMD CPUs, applied once per process.

On AMD CPUs with AVX-512, oneDNN's Xbyak turns an unread core topology into exit(1) on Lite's
worker thread, and NCHW88 (or the global layout transform) hangs. The fix is C, shared with the
C++ side: third_party/megenginelite/xbyak_amd_fix.h says what it writes and when it refuses (it
writes only into the one library build it was written for, and only on AMD). runner.megenginelite()
applies it right after megenginelite loads, before any network runs. The outcome is one line,
logged at DEBUG on "megdeploy.lite" and returned by apply().
"""
import ctypes
import logging
import os
import threading

LOG = logging.getLogger("megdeploy.lite")
LIBRARY_NAME = "libmegdeploy_xbyak_amd_fix.so"
_HERE = os.path.dirname(os.path.abspath(__file__))
# Beside this file in Bazel runfiles; in a source checkout (PYTHONPATH=py), where Bazel built it.
CANDIDATE_PATHS = (
    os.path.join(_HERE, LIBRARY_NAME),
    os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(_HERE))), "bazel-bin", "py", "mgedeploy", "lite",
                 LIBRARY_NAME),
)
# The statuses of xbyak_amd_fix.h, by value.
STATUSES = ("applied", "already_applied", "not_needed", "not_loaded", "unknown_library")

_lock = threading.Lock()
_outcome = None


def apply(library_paths=CANDIDATE_PATHS):
    """Applies the fix (the first call only; later calls return its outcome). Returns
    (status, reason): a name from STATUSES or "not_built", and a one-line reason."""
    global _outcome
    with _lock:
        if _outcome is None:
            _outcome = _apply(library_paths)
            LOG.debug("xbyak AMD fix: %s", _outcome[1])
        return _outcome


def _apply(library_paths):
    path = next((p for p in library_paths if os.path.exists(p)), None)
    if path is None:
        return "not_built", "not applied: %s is missing (build //py:lite)" % LIBRARY_NAME
    library = ctypes.CDLL(path)
    library.megdeploy_xbyak_amd_fix_apply.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    reason = ctypes.create_string_buffer(256)
    status = library.megdeploy_xbyak_amd_fix_apply(reason, len(reason))
    return STATUSES[status], reason.value.decode(errors="replace")
