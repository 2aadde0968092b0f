"""The models this project exports, by name."""
from mgedeploy.models import efficientnet_lite, snetv2

BUILDERS = {
    "efficientnet_lite0": efficientnet_lite.build,
    "snetv2_x100": snetv2.build,
}

NAMES = tuple(sorted(BUILDERS))


def build(name):
    """Returns the model in eval mode with its initial (untrained) weights."""
    if name not in BUILDERS:
        raise KeyError("unknown model %r (known: %s)" % (name, ", ".join(NAMES)))
    model = BUILDERS[name]()
    model.eval()
    return model
