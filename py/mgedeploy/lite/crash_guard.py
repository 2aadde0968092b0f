"""Opt-in crash guard for programs: a MegEngine crash becomes a one-line error and exit status 1.

MegEngine's model loader trusts the file: on some damaged models it dereferences garbage (SIGSEGV,
found by //tests:fuzz_models). cc/cli/crash_guard.cc (shared with the C++ programs, loaded here with
ctypes) installs signal handlers that print our message and `_exit(1)`.

The library never enables it on its own: the handlers are process-wide and end the process, which
an application embedding a Classifier must decide for itself. What the library does instead is
check every model's SHA-256 against its contract before Lite reads a byte (contract.py), so a
damaged copy of an exported model never reaches Lite; an application that must load untrusted
models should load them in a child process. The command-line programs call enable().
"""
import contextlib
import ctypes

from mgedeploy import package_data

_library = None
_program = "python"
_fd = 2


def enable(library_path, program, fd=2):
    """Loads the guard library; from now on guarded() scopes are armed. `fd` gets the last words."""
    global _library, _program, _fd
    library = ctypes.CDLL(library_path)
    library.megdeploy_crash_guard_arm.argtypes = [ctypes.c_char_p, ctypes.c_int]
    _library, _program, _fd = library, program, fd


def enabled():
    return _library is not None


@contextlib.contextmanager
def guarded(message):
    """While inside, a crash in this thread prints `program: message (SIGNAL)` and exits 1 (only
    when enable() was called; otherwise nothing happens). Per thread: see cc/cli/crash_guard.h."""
    if _library is None:
        yield
        return
    _library.megdeploy_crash_guard_arm(("%s: %s" % (_program, message)).encode(errors="replace"), _fd)
    try:
        yield
    finally:
        _library.megdeploy_crash_guard_disarm()


def default_library_path():
    """The guard library: beside this module in Bazel runfiles and in the installed package."""
    return package_data.find(package_data.CRASH_GUARD_LIBRARY)
