"""Runs an exported classifier with megenginelite: load once, classify many inputs."""
import os

import numpy as np
from megenginelite import LiteConfig, LiteNetwork


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
            self.network.load(model_path)
        except Exception as e:  # megenginelite raises RuntimeError with Lite's message
            raise ModelError("%s: Lite cannot load the model: %s" % (model_path, _first_line(e))) from e
        self.output_name = self.network.get_output_name(0)

    def run(self, data):
        """float32 NCHW input -> the model's output as a NumPy array (a copy)."""
        try:
            self.network.get_io_tensor(self.input_name).set_data_by_copy(np.ascontiguousarray(data, np.float32))
            self.network.forward()
            self.network.wait()
            return self.network.get_io_tensor(self.output_name).to_numpy().copy()
        except Exception as e:
            raise ModelError("%s: Lite failed to run the model: %s" % (self.model_path, _first_line(e))) from e


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
