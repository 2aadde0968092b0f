"""Rebuilds the eager MegEngine model behind an exported `.mge` from its contract's weight record."""
from mgedeploy import models
from mgedeploy.weights import sources as weights


def from_contract(info):
    """The model named in the contract, with the weights export used (packaged, file, seed, or the
    user's FILE.py:FUNCTION, which loads its own)."""
    source = info["weights"]
    kind = source.get("source", "")
    if kind == "function":
        from mgedeploy.exporting import user_model

        return user_model.load_module(source["file"], source["function"])
    if info["model"] not in models.NAMES:
        raise weights.WeightsError("cannot rebuild %s: not a built-in model, and its weights came from %s"
                                   % (info["model"], kind or "nowhere recorded"))
    model = models.build(info["model"])
    if kind == "random":
        weights.randomise(model, source["seed"])
    elif kind == "file":
        weights.load_file(model, info["model"], source["path"])
    elif kind.startswith("package"):
        weights.load_packaged(model)
    else:
        raise weights.WeightsError("cannot rebuild %s offline: its weights came from %s" % (info["model"], kind))
    return model
