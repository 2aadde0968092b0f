"""Rebuilds the eager MegEngine model behind an exported `.mge` from its contract's weight record."""
from mgedeploy import models
from mgedeploy.weights import sources as weights


def from_contract(info):
    """The model named in the contract, with the weights export used (packaged, file or seed)."""
    model = models.build(info["model"])
    source = info["weights"]
    kind = source.get("source", "")
    if kind == "random":
        weights.randomise(model, source["seed"])
    elif kind == "file":
        weights.load_file(model, info["model"], source["path"])
    elif kind.startswith("package"):
        weights.load_packaged(model)
    else:
        raise weights.WeightsError("cannot rebuild %s offline: its weights came from %s" % (info["model"], kind))
    return model
