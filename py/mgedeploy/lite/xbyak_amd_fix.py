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

from mgedeploy import package_data

LOG = logging.getLogger("megdeploy.lite")
CANDIDATE_PATHS = package_data.candidates(package_data.XBYAK_AMD_FIX_LIBRARY)
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
        return "not_built", "not applied: %s is missing (build //py:lite)" % package_data.XBYAK_AMD_FIX_LIBRARY
    library = ctypes.CDLL(path)
    library.megdeploy_xbyak_amd_fix_apply.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    reason = ctypes.create_string_buffer(256)
    status = library.megdeploy_xbyak_amd_fix_apply(reason, len(reason))
    return STATUSES[status], reason.value.decode(errors="replace")
