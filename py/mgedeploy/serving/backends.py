"""What runs the model behind the server: MegEngine Lite (the product), or, for the side-by-side
load benchmark (//bench:serve_load), ONNX Runtime or eager MegEngine on the same weights (the
tutorial's previous approach). Each has the Classifier's interface the workers use: `contract`,
`preprocess(bgr_array)`, `run_inputs(inputs)`; preprocessing is the one in preprocess.py for all.
"""
from typing import Dict

import numpy as np

from mgedeploy import classifier as classifier_lib
from mgedeploy import contract as contract_lib
from mgedeploy import preprocess

NAMES = ("lite", "onnxruntime", "eager")
# Eager MegEngine runs only on the thread that imported it (any other thread fails with
# "assertion `depth < context.transformations.size()'"): the server runs it inline on its event
# loop, as the tutorial's FastAPI app did (workers.py), and builds the ONNX graph there too.
MAIN_THREAD_ONLY = ("eager",)
_onnx_graphs: Dict[str, bytes] = {}  # model path -> the serialized ONNX graph (built once, on the main thread)


def prepare(backend, model_path):
    """What must happen on the main thread before instances are made on others."""
    if backend == "onnxruntime" and model_path not in _onnx_graphs:
        from mgedeploy.peers import onnx_session

        _onnx_graphs[model_path] = onnx_session.serialized_graph(contract_lib.read(model_path))


def make(backend, model_path, threads=1, lite_options="best", max_pixels=preprocess.DEFAULT_MAX_PIXELS,
         share_with=None, model_key=None):
    """A new backend instance (one per worker thread). share_with: another Lite instance of the same
    model whose weights to share (Lite only; ignored by the others). model_key: an encrypted model's
    key (Lite only: the peers read sidecar models)."""
    if backend == "lite":
        return classifier_lib.Classifier(model_path, threads=threads, lite_options=lite_options,
                                         max_pixels=max_pixels, share_weights_with=share_with, model_key=model_key)
    if backend == "onnxruntime":
        prepare(backend, model_path)
        return OnnxRuntimeBackend(model_path, threads)
    if backend == "eager":
        return EagerBackend(model_path, threads)
    raise ValueError("unknown backend %r (one of %s)" % (backend, ", ".join(NAMES)))


class _Peer:
    """The contract and preprocessing of the exported model; run_inputs one input at a time."""

    def __init__(self, model_path):
        self.contract = contract_lib.read(model_path)

    def preprocess(self, image):
        return preprocess.preprocess_bgr(image, self.contract["preprocess"])

    def run_inputs(self, inputs):
        return [self.run(x)[0] for x in inputs]


class OnnxRuntimeBackend(_Peer):
    def __init__(self, model_path, threads):
        super().__init__(model_path)
        from mgedeploy.peers import onnx_session

        self.session = onnx_session.session(_onnx_graphs[model_path], threads)
        self.name = self.contract["input"]["name"]

    def run(self, x):
        return self.session.run(None, {self.name: np.ascontiguousarray(x, np.float32)})[0]


class EagerBackend(_Peer):
    def __init__(self, model_path, threads):
        super().__init__(model_path)
        import megengine
        import megengine.functional as F

        from mgedeploy.peers import eager as eager_model

        megengine.set_default_device("cpu0" if threads == 1 else "multithread%d:0" % threads)
        self.model = eager_model.from_contract(self.contract)
        self.model.eval()
        self.run = lambda x: F.softmax(self.model(megengine.tensor(x))).numpy()
