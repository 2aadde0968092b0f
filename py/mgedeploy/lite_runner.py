"""Runs an exported classifier with megenginelite: load once, classify many inputs."""
import contextlib
import ctypes
import os
import sys

import numpy as np
from megenginelite import LiteAlgoSelectStrategy, LiteConfig, LiteGlobal, LiteNetwork

from mgedeploy import contract, paths, quiet

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


class LiteOptions:
    """The Lite settings a network is loaded with (the model contract's "lite" section, contract.py)."""

    def __init__(self, weight_preprocess=False, record_level=0, nchw88=False, fast_run=False, fast_run_cache=None):
        self.weight_preprocess = weight_preprocess
        self.record_level = record_level
        self.nchw88 = nchw88
        self.fast_run = fast_run or bool(fast_run_cache)
        self.fast_run_cache = fast_run_cache  # read if it exists; save_fast_run_cache() writes it

    @classmethod
    def from_settings(cls, settings, fast_run_cache=None, safe_only=False):
        """From a contract's "lite" section (or a lite_tuning candidate); safe_only drops what is
        tied to the CPU the settings were chosen on (NCHW88, fast-run kernels)."""
        return cls(bool(settings.get("weight_preprocess")), int(settings.get("record_level", 0)),
                   nchw88=bool(settings.get("nchw88")) and not safe_only,
                   fast_run_cache=None if safe_only else fast_run_cache)


FAST_RUN_CACHE_SUFFIX = ".fastrun"
CHOICES = ("best", "default")


def options_for(info, model_path, choice):
    """LiteOptions for `choice`: "best", the settings export chose and recorded in the contract's
    "lite" section (lite_tuning.py), or "default", Lite's defaults; and a note for the user when
    the best settings cannot be used as recorded (None otherwise)."""
    lite = info.get("lite") if choice == "best" else None
    if not lite:
        return LiteOptions(), None
    from mgedeploy import lite_tuning

    if lite.get("cpu") != lite_tuning.cpu_fingerprint():
        # NCHW88 can deadlock on some CPUs and fast-run choices are per CPU: only the safe part.
        return (LiteOptions.from_settings(lite, safe_only=True),
                "%s: Lite settings were chosen on another CPU: using the safe part (re-export here for the "
                "fastest)" % contract.path_for(model_path))
    cache, note = lite.get("fast_run_cache"), None
    if cache:
        cache = os.path.join(os.path.dirname(model_path), cache)
        if not os.path.isfile(cache):
            note = ("%s: fast-run cache missing (export writes it beside the model): kernels are chosen by "
                    "heuristics, slower" % cache)
            cache = None
        elif contract.file_digest(cache) != lite.get("fast_run_cache_sha256"):
            # Lite itself crashes on a damaged cache (measured): it never gets one.
            raise ModelError("%s: fast-run cache does not match its contract %s: re-export, or copy it with the "
                             "model" % (cache, contract.path_for(model_path)))
    return LiteOptions.from_settings(lite, fast_run_cache=cache), note


class LiteClassifier:
    def __init__(self, model_path, input_name, threads=1, options=None):
        self.model_path = model_path
        self.input_name = input_name
        self.options = options or LiteOptions()
        check_model_file(model_path)
        config = LiteConfig()
        config.options.weight_preprocess = self.options.weight_preprocess
        config.options.comp_node_seq_record_level = self.options.record_level
        config.options.const_shape = self.options.record_level > 0  # recording needs fixed shapes
        config.options.enable_nchw88 = self.options.nchw88
        self.network = LiteNetwork(config=config)
        # Must be set before load: Lite sizes its thread pool while loading.
        self.network.threads_number = threads
        cache = self.options.fast_run_cache
        if cache:
            # A missing file starts an empty cache that save_fast_run_cache() fills.
            try:
                with crash_guard("%s: Lite crashed while reading the fast-run cache: the file is damaged" % cache):
                    LiteGlobal.set_persistent_cache(cache)
            except Exception as e:
                raise ModelError("%s: cannot read the fast-run cache: %s" % (cache, _first_line(e))) from e
        if self.options.fast_run:
            self.network.set_network_algo_policy(
                LiteAlgoSelectStrategy.LITE_ALGO_PROFILE | LiteAlgoSelectStrategy.LITE_ALGO_REPRODUCIBLE)
        try:
            with crash_guard("%s: Lite crashed while loading the model: the file is damaged or not a MegEngine "
                             "model" % model_path):
                self.network.load(model_path)
        except Exception as e:  # megenginelite raises RuntimeError with Lite's message
            raise ModelError("%s: Lite cannot load the model: %s" % (model_path, _first_line(e))) from e
        self.output_name = self.network.get_output_name(0)

    def save_fast_run_cache(self, path):
        """Writes the kernels fast-run chose (after a run) to `path`."""
        LiteGlobal.dump_persistent_cache(path)

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
