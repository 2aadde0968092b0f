"""Runs an exported `.mge` with megenginelite: load once, run many inputs.

Knows nothing about contracts or images: give it a model (a path, or the bytes read and checked by
model_files.read_model_file), the input name and LiteOptions (options.py turns a contract into those). The Classifier (classifier.py) builds on it.
"""
import io
from typing import Any, Callable, List

import numpy as np

from mgedeploy import model_files
from mgedeploy.lite import crash_guard, xbyak_amd_fix
from mgedeploy.lite.options import LiteOptions

# Re-exported: the runner's errors and checks are the model file's (model_files.py).
ModelError = model_files.ModelError
check_model_file = model_files.check_model_file


# Called with the megenginelite module when it is first loaded (programs set its log level there).
ON_LOAD: List[Callable[[Any], None]] = []
_megenginelite = None


def megenginelite():
    """megenginelite, loaded on first use: checking a model file and its contract needs no 1.5 GB
    library, so a program's early errors come at once (~0.3 s instead of ~1 s)."""
    global _megenginelite
    if _megenginelite is None:
        import megenginelite as lite

        # Before any network runs (xbyak_amd_fix.py says why).
        xbyak_amd_fix.apply()
        _megenginelite = lite
        for hook in ON_LOAD:
            hook(lite)
    return _megenginelite


def lite_config(options):
    """The LiteConfig for `options` (the one place Python turns LiteOptions into Lite's config)."""
    config = megenginelite().LiteConfig()
    config.options.weight_preprocess = options.weight_preprocess
    config.options.comp_node_seq_record_level = options.record_level
    config.options.const_shape = options.const_shape
    config.options.enable_nchw88 = options.nchw88
    config.options.enable_nchw44 = options.nchw44
    return config


class LiteRunner:
    """One Lite network. Not for several threads at once: give each thread its own runner
    (share_weights_with=another runner of the same model keeps one copy of the weights)."""

    def __init__(self, model, input_name, threads=1, options=None, share_weights_with=None):
        """model: a path, or a model_files.ModelFile already read (and checked against its
        contract): Lite loads exactly those bytes, without reading the file again."""
        if share_weights_with is None and not isinstance(model, model_files.ModelFile):
            model = model_files.read_model_file(model)
        model_path = self.model_path = model.path if isinstance(model, model_files.ModelFile) else model
        self.input_name = input_name
        self.options = options or LiteOptions()
        lite = megenginelite()
        self.network = lite.LiteNetwork(config=lite_config(self.options))
        # Must be set before load: Lite sizes its thread pool while loading.
        self.network.threads_number = threads
        cache = self.options.fast_run_cache
        if cache:
            # A missing file starts an empty cache that save_fast_run_cache() fills. The cache is the
            # process's, but in this Lite each file set adds its entries to what the process holds
            # (measured: fast_run_cache_test.py), so several models keep their own kernels.
            try:
                with crash_guard.guarded("%s: Lite crashed while reading the fast-run cache: the file is damaged"
                                         % cache):
                    lite.LiteGlobal.set_persistent_cache(cache)
            except Exception as e:
                raise ModelError("%s: cannot read the fast-run cache: %s" % (cache, first_line(e))) from e
        if self.options.layout_transform:
            self.network.enable_global_layout_transform()
        if self.options.profile_json:
            self.network.enable_profile_performance(self.options.profile_json)
        if self.options.fast_run:
            self.network.set_network_algo_policy(
                lite.LiteAlgoSelectStrategy.LITE_ALGO_PROFILE | lite.LiteAlgoSelectStrategy.LITE_ALGO_REPRODUCIBLE)
        try:
            with crash_guard.guarded("%s: Lite crashed while loading the model: the file is damaged or not a "
                                     "MegEngine model" % model_path):
                if share_weights_with is not None:
                    # Another runner's loaded graph and weights, with this network's own options.
                    self.network.share_weights_with(share_weights_with.network)
                else:
                    # megenginelite takes bytes as a reader; it keeps its copy for Lite to use.
                    self.network.load(io.BufferedReader(io.BytesIO(model.data)))
        except Exception as e:  # megenginelite raises RuntimeError with Lite's message
            raise ModelError("%s: Lite cannot load the model: %s" % (model_path, first_line(e))) from e
        self.output_name = self.network.get_output_name(0)

    def save_fast_run_cache(self, path):
        """Writes the kernels fast-run chose (after a run) to `path`."""
        megenginelite().LiteGlobal.dump_persistent_cache(path)

    def run(self, data):
        """float32 NCHW input -> the model's output as a NumPy array (a copy)."""
        try:
            self.network.get_io_tensor(self.input_name).set_data_by_copy(np.ascontiguousarray(data, np.float32))
            with crash_guard.guarded("%s: Lite crashed while running the model: the file is damaged"
                                     % self.model_path):
                self.network.forward()
                self.network.wait()
            return self.network.get_io_tensor(self.output_name).to_numpy().copy()
        except Exception as e:
            raise ModelError("%s: Lite failed to run the model: %s" % (self.model_path, first_line(e))) from e


def first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
