"""Cross-layer equalization and bias correction (Nagel et al., "Data-Free Quantization Through
Weight Equalization and Bias Correction", ICCV 2019) for the int8 EfficientNet-Lite0 of
efficientnet_lite_int8.py, whose weights are quantised per tensor.

- Batch norms are folded into their convolutions first (each BN is left as the identity), so the
  weights seen here are the ones MegEngine quantises.
- Equalization (each channel's scale bounded by MAX_CHANNEL_SCALE): in every block, the
  convolution pairs around the depthwise one ((expand or stem) ->
  depthwise, depthwise -> project) are rescaled per channel, s_i = sqrt(r1_i / r2_i) with r1_i the
  range of the first layer's output channel i and r2_i that of the second's input channel i: the
  first's channel i is divided by s_i, the second's input i multiplied by it, until the ranges
  settle. Exact through a ReLU, which is scale-equivariant; ReLU6 is not: after the rescaling its
  clamp must be 6 / s_i, per channel, which a per-tensor int8 activation cannot saturate at. The
  paper replaces ReLU6 by ReLU; measured here, that float model agrees with fp32 on only 21 of 40
  crops (EfficientNet-Lite0's activations often pass 6). So each equalized ReLU6 gets a
  per-channel clamp instead (efficientnet_lite_int8.ChannelClip: an int8 MIN against a quantised
  constant), and the float model stays the fp32 function (data_free_quantization_test).
- Bias correction (the empirical form, section 4.2): the weights' quantisation error e = Q(W) - W
  shifts each output channel's mean by e . E[x]; E[x] per input channel is measured on the
  calibration inputs through the float model, and subtracted from the bias.
"""
import megengine
import numpy as np

from bench import efficientnet_lite_int8 as int8

EQUALIZATION_ROUNDS = 8
# The most a channel is rescaled by, either way. Unbounded, equalization spreads the clamps 6 / s_i
# from 0.6 to 636 within one layer, and the per-tensor activation range that must hold them all
# loses the small channels. Top-1 agreement with fp32 on 300 crops, equalization alone, bound 2:
# 275, 4: 288, 8: 278 (with bias correction 284 / 285 / 287); unbounded, 35 of the first 40 (the
# bound-free min/max model: 38 of those 40).
MAX_CHANNEL_SCALE = 4.0
WEIGHT_LEVELS = 127  # qint8_narrow, symmetric: scale = max|W| / 127 (MegEngine's MinMaxObserver)


def _weights(fused):
    return fused.conv.weight.numpy(), fused.bn.bias.numpy().reshape(-1)


def _set(fused, weight, bias):
    fused.conv.weight = megengine.Parameter(weight.astype(np.float32))
    fused.bn.bias = megengine.Parameter(bias.astype(np.float32).reshape(fused.bn.bias.shape))


def fold_batch_norm(fused):
    """Folds a ConvBn(Relu)2d's BN into its convolution; the BN is left as the identity."""
    weight, _ = _weights(fused)
    bn = fused.bn
    gamma, beta = bn.weight.numpy().reshape(-1), bn.bias.numpy().reshape(-1)
    mean, var = bn.running_mean.numpy().reshape(-1), bn.running_var.numpy().reshape(-1)
    factor = gamma / np.sqrt(var + bn.eps)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    _set(fused, weight * factor.reshape(shape), beta - mean * factor)
    bn.weight = megengine.Parameter(np.ones_like(gamma).reshape(bn.weight.shape))
    bn.running_mean = megengine.Tensor(np.zeros_like(mean).reshape(bn.running_mean.shape))
    bn.running_var = megengine.Tensor(np.full_like(var, 1.0 - bn.eps).reshape(bn.running_var.shape))


def _is_depthwise(fused):
    return fused.conv.groups > 1


def _input_ranges(fused, weight):
    if _is_depthwise(fused):  # (C, 1, 1, kh, kw): input channel i is output channel i
        return np.abs(weight).reshape(weight.shape[0], -1).max(axis=1)
    return np.abs(weight).max(axis=(0, 2, 3))  # (OC, IC, kh, kw)


def equalize_pair(first, second, clip):
    """Rescales the channels between two convolutions (the first's output = the second's input),
    and the first one's ReLU6 clamp with them."""
    w1, b1 = _weights(first)
    w2, b2 = _weights(second)
    r1 = np.abs(w1).reshape(w1.shape[0], -1).max(axis=1)
    r2 = _input_ranges(second, w2)
    scale = np.where((r1 > 0) & (r2 > 0), np.sqrt(r1 / np.maximum(r2, 1e-12)), 1.0)
    done = int8.RELU6_CAP / clip.clip.numpy().reshape(-1)  # the channel's scale so far
    scale = np.clip(done * scale, 1.0 / MAX_CHANNEL_SCALE, MAX_CHANNEL_SCALE) / done
    _set(first, w1 / scale.reshape((-1,) + (1,) * (w1.ndim - 1)), b1 / scale)
    clip.clip = megengine.Parameter((clip.clip.numpy().reshape(-1) / scale).astype(np.float32).reshape(clip.clip.shape))
    if _is_depthwise(second):
        w2 = w2 * scale.reshape((-1,) + (1,) * (w2.ndim - 1))
    else:
        w2 = w2 * scale.reshape(1, -1, 1, 1)
    _set(second, w2, b2)


def pairs(model):
    """The (first, second, owner, clip attribute) of each convolution pair equalized in a
    QuantizableLite0, by block: owner.<clip attribute> clamps the first one's ReLU6."""
    found = []
    for i, block in enumerate(model.blocks):
        if block.expand is not None:
            found.append((block.expand, block.depthwise, block, "expand_clip"))
        else:  # the first block has no expansion: the stem feeds its depthwise convolution
            assert i == 0, "only the first block feeds a depthwise convolution from outside"
            found.append((model.stem, block.depthwise, model, "stem_clip"))
        found.append((block.depthwise, block.project, block, "depthwise_clip"))
    return found


def clip_sites(model):
    """(layer, owner, clip attribute) of every ReLU6 in a QuantizableLite0: the pairs' first layers
    and the head."""
    return [(first, owner, attribute) for first, _, owner, attribute in pairs(model)] + [
        (model.head, model, "head_clip")]


def install_clips(model):
    """A ChannelClip of 6 behind every ReLU6 (where none is)."""
    for layer, owner, attribute in clip_sites(model):
        if getattr(owner, attribute) is None:
            setattr(owner, attribute, int8.ChannelClip(layer.conv.out_channels))


def _quantisation_error(weight):
    scale = np.abs(weight).max() / WEIGHT_LEVELS
    return np.clip(np.round(weight / scale), -WEIGHT_LEVELS, WEIGHT_LEVELS) * scale - weight


def _input_means(model, layers, calibration_inputs):
    """Each layer's per-channel input mean over the calibration inputs (the float model)."""
    sums = {id(layer): 0.0 for layer in layers}
    handles = []
    for layer in layers:
        def hook(module, inputs, key=id(layer)):
            sums[key] = sums[key] + inputs[0].numpy().mean(axis=(0, 2, 3))
        handles.append(layer.register_forward_pre_hook(hook))
    for x in calibration_inputs:
        model(megengine.tensor(x))
    for handle in handles:
        handle.remove()
    return {key: total / len(calibration_inputs) for key, total in sums.items()}


def correct_biases(model, calibration_inputs):
    """Subtracts each convolution's expected weight-quantisation error from its bias."""
    layers = [m for m in model.modules() if type(m).__name__ in ("ConvBn2d", "ConvBnRelu2d")]
    means = _input_means(model, layers, calibration_inputs)
    for layer in layers:
        weight, bias = _weights(layer)
        error, mean = _quantisation_error(weight), means[id(layer)]
        if _is_depthwise(layer):
            shift = error.reshape(error.shape[0], -1).sum(axis=1) * mean
        else:
            shift = np.einsum("oihw,i->o", error, mean)
        _set(layer, weight, bias - shift)


def prepare(model, calibration_inputs, equalize=True, bias_correction=True):
    """Folds a QuantizableLite0's BNs, equalizes and bias-corrects it as asked (in place). Returns
    {layer name: the largest of its per-channel clamps} for the equalized layers, whose activation
    range is capped there instead of at 6."""
    model.eval()
    for module in model.modules():
        if type(module).__name__ in ("ConvBn2d", "ConvBnRelu2d"):
            fold_batch_norm(module)
    install_clips(model)  # the float model is now the fp32 function (bias correction's means need it)
    if equalize:
        for _ in range(EQUALIZATION_ROUNDS):
            for first, second, owner, attribute in pairs(model):
                equalize_pair(first, second, getattr(owner, attribute))
    if bias_correction:
        correct_biases(model, calibration_inputs)
    names = {id(m): name for name, m in model.named_modules()}
    caps = {}
    for layer, owner, attribute in clip_sites(model):
        clip = getattr(owner, attribute).clip.numpy()
        if np.all(clip == 6.0):  # still ReLU6's own clamp: the activation range's cap does it, at no cost
            setattr(owner, attribute, None)
        else:
            caps[names[id(layer)]] = float(clip.max())
    return caps
