"""Runs an exported classifier with megenginelite: load once, classify many inputs."""
import contextlib
import ctypes
import os
import sys

import numpy as np
from megenginelite import LiteConfig, LiteNetwork

from mgedeploy import paths, quiet

# cc/crash_guard.cc, shared with the C++ programs: MegEngine's loader can crash on a damaged model
# (SIGSEGV, found by //tests:fuzz_models); the guard turns that into our one-line error, exit 1.
_GUARD_LIBRARY = os.path.join(paths.REPO_ROOT, "cc", "libmegdeploy_crash_guard.so")
_guard = None


@contextlib.contextmanager
def crash_guard(message):
    global _guard
    if _guard is None:
        _guard = ctypes.CDLL(_GUARD_LIBRARY)
        _guard.megdeploy_crash_guard_arm.argtypes = [ctypes.c_char_p, ctypes.c_int]
    program = os.path.splitext(os.path.basename(sys.argv[0]))[0] or "python"
    _guard.megdeploy_crash_guard_arm(("%s: %s" % (program, message)).encode(errors="replace"),
                                     quiet.real_stderr_fd())
    try:
        yield
    finally:
        _guard.megdeploy_crash_guard_disarm()


class ModelError(RuntimeError):
    """The model could not be loaded or run; the message names the file."""


def check_model_file(path):
    """Fails early, with a clear reason, on what Lite would report confusingly."""
    if os.path.isdir(path):
        raise ModelError("%s: is a directory, not a model file" % path)
    if not os.path.isfile(path):
        raise ModelError("%s: cannot open model: model file not found" % path)
    if not os.access(path, os.R_OK):
        raise ModelError("%s: cannot read model: permission denied" % path)
    if os.path.getsize(path) == 0:
        raise ModelError("%s: model file is empty" % path)


class LiteClassifier:
    def __init__(self, model_path, input_name, threads=1):
        self.model_path = model_path
        self.input_name = input_name
        check_model_file(model_path)
        self.network = LiteNetwork(config=LiteConfig())
        # Must be set before load: Lite sizes its thread pool while loading.
        self.network.threads_number = threads
        try:
            with crash_guard("%s: Lite crashed while loading the model: the file is damaged or not a MegEngine "
                             "model" % model_path):
                self.network.load(model_path)
        except Exception as e:  # megenginelite raises RuntimeError with Lite's message
            raise ModelError("%s: Lite cannot load the model: %s" % (model_path, _first_line(e))) from e
        self.output_name = self.network.get_output_name(0)

    def run(self, data):
        """float32 NCHW input -> the model's output as a NumPy array (a copy)."""
        try:
            self.network.get_io_tensor(self.input_name).set_data_by_copy(np.ascontiguousarray(data, np.float32))
            with crash_guard("%s: Lite crashed while running the model: the file is damaged" % self.model_path):
                self.network.forward()
                self.network.wait()
            return self.network.get_io_tensor(self.output_name).to_numpy().copy()
        except Exception as e:
            raise ModelError("%s: Lite failed to run the model: %s" % (self.model_path, _first_line(e))) from e


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
