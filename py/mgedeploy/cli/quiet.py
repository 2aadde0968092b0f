"""Keeps megengine's native start-up chatter out of our CLIs' stderr.

MegEngine's native libraries write CUDA probing lines ("Failed to load CUDA driver", "failed to
load cuda func: ...") straight to file descriptor 2, at import and again when the first computing
node starts. Users of our CLIs should see one-line answers and errors. So, for the whole process,
fd 2 goes to a temp file while Python's sys.stderr keeps writing to the real stderr; at exit,
whatever native output is not that known chatter is replayed, so real warnings are not lost.
"""
import atexit
import logging
import os
import re
import sys
import tempfile
import warnings

_CHATTER = re.compile(
    rb"^(info: [+].*|debug: failed to load cuda func: .*|.*iCCP: known incorrect sRGB profile)$")
_installed = False
_replay_wanted = True
_real_fd = 2


def _replay(captured, real_fd):
    if not _replay_wanted:
        return
    try:
        captured.seek(0)
        for line in captured.read().splitlines():
            if line.strip() and not _CHATTER.match(line):
                os.write(real_fd, line + b"\n")
    except (OSError, ValueError):
        pass


def install():
    """Routes native fd-2 output through the filter; idempotent."""
    global _installed, _real_fd
    if _installed:
        return
    _installed = True
    sys.stderr.flush()
    real_fd = _real_fd = os.dup(2)
    sys.stderr = os.fdopen(real_fd, "w", buffering=1, closefd=False)
    captured = tempfile.TemporaryFile()
    os.dup2(captured.fileno(), 2)
    atexit.register(_replay, captured, real_fd)


def real_stderr_fd():
    """The terminal's stderr, for last words written from a native crash handler."""
    return _real_fd


def drop_native_output():
    """Call when a one-line error has been printed: MegEngine's backtrace for it is not replayed."""
    global _replay_wanted
    _replay_wanted = False


class _DropMegengineliteErrors(logging.Filter):
    """megenginelite logs every failed C call to the root logger before raising; we report the
    raised error ourselves, in one line."""

    def filter(self, record):
        return "megenginelite" not in record.pathname


def install_for_program():
    """What a program needs before MegEngine loads, without loading it (that costs ~0.7 s, which a
    usage error should not pay): the fd-2 filter, the warning and log filters, and Lite's log
    level set the moment the runner loads megenginelite."""
    install()
    # megengine imports pkg_resources, which warns on every start; the pin is in requirements.in.
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
    logging.getLogger().addFilter(_DropMegengineliteErrors())
    from mgedeploy.lite import runner

    runner.ON_LOAD.append(lambda lite: lite.set_log_level(lite.LiteLogLevel.ERROR))


def import_megengine():
    install_for_program()
    import megengine.logger
    import megenginelite

    megenginelite.set_log_level(megenginelite.LiteLogLevel.ERROR)
    megengine.logger.set_log_level("ERROR")
