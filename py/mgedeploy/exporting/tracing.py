"""Traces `softmax(model(data))` and dumps it to a `.mge` with the dump options export uses."""
import megengine
import megengine.functional as F
from megengine.jit import trace

INPUT_NAME = "data"
# trace.dump options, measured by //bench:dump_options (docs/speed.md, "Export: dump options and model forms"):
# optimize_for_inference halves Lite's latency; fusing conv+bias+ReLU is exact and 1-3 % faster.
DUMP_OPTIONS = {"optimize_for_inference": True, "enable_fuse_conv_bias_nonlinearity": True}


def dump(model, sample, path):
    @trace(symbolic=True, capture_as_const=True)
    def infer(data):
        return F.softmax(model(data))

    infer(megengine.tensor(sample))
    infer.dump(path, arg_names=[INPUT_NAME], **DUMP_OPTIONS)
