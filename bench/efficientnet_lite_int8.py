"""EfficientNet-Lite0 as post-training-quantised int8 for Lite, built from the float model's weights.

A lossy variant, measured by //bench:int8 (docs/speed.md); never mixed with the fp32 model.
MegEngine quantises fused modules, so each convolution + BN (+ ReLU) becomes a ConvBn2d /
ConvBnRelu2d, residual additions an Elemwise("ADD"), and the input passes a QuantStub. Three choices:
- ReLU6 has no quantised form: ConvBnRelu2d applies the ReLU and the activation range is capped at
  6 after calibration, so quantisation itself saturates at 6, which is ReLU6's clamp.
- "SAME" padding uses a kernel two rows/columns wider with leading zeros (exact in float, and its
  zero weights quantise to exactly 0) instead of joining zeros onto a quantised tensor.
- Pooling and the classifier stay float (after a DequantStub): 0.3 % of the MACs.
Weights are quantised per tensor (int8, symmetric: MegEngine's quantised dtypes carry one scale per
tensor, so per-channel scales are not available to Lite), activations per tensor from calibration
images. METHODS: "minmax" (the extremes seen), "percentile" (each image's 99.999th / 0.001st
percentile, averaged over the images: a few outliers no longer stretch the range), and min/max
after the data-free methods of data_free_quantization.py: "cle" (cross-layer equalization, with
per-channel clamps: ChannelClip), "bias" (bias correction) and "cle_bias" (both, as the paper).
"""
from functools import partial

import megengine
import megengine.functional as F
import megengine.module as M
import numpy as np
from megengine.quantization import MinMaxObserver, QConfig, enable_observer, quantize, quantize_qat

RELU6_CAP = 6.0
WIDE_KERNEL_LEAD = 2
PERCENTILE = 99.999
# name: (activation observer, cross-layer equalization, bias correction)
METHODS = {"minmax": ("minmax", False, False), "percentile": ("percentile", False, False),
           "cle": ("minmax", True, False), "bias": ("minmax", False, True), "cle_bias": ("minmax", True, True)}
CALIBRATIONS = tuple(METHODS)


class PercentileObserver(MinMaxObserver):
    """An activation range from percentiles: the mean over calibration inputs of each input's
    PERCENTILE-th (max) and (100 - PERCENTILE)-th (min) value. (MegEngine's HistogramObserver,
    the other non-min/max observer it ships, failed on this model: "cannot convert float NaN to
    integer" in its parameter search.)"""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lows, self.highs = [], []

    def forward(self, x_orig):
        if self.enabled:
            values = x_orig.numpy().ravel()
            low, high = np.percentile(values, [100 - PERCENTILE, PERCENTILE])
            self.lows.append(float(low))
            self.highs.append(float(high))
            self.min_val[...] = megengine.tensor(min(0.0, float(np.mean(self.lows))))
            self.max_val[...] = megengine.tensor(max(0.0, float(np.mean(self.highs))))
        return x_orig


def calibration_qconfig(calibration):
    activations = {"minmax": MinMaxObserver, "percentile": PercentileObserver}[calibration]
    return QConfig(weight_observer=partial(MinMaxObserver, dtype="qint8_narrow"),
                   act_observer=partial(activations, dtype="qint8"), weight_fake_quant=None, act_fake_quant=None)


def conv_bn(conv, bn, relu, same_conv=None):
    """A fused ConvBn(Relu)2d holding `conv` and `bn`'s parameters; `same_conv` (a SameConv2d)
    with an extra zero row/column becomes the wider, zero-led kernel."""
    lead = WIDE_KERNEL_LEAD if same_conv is not None and same_conv.extra_zero else 0
    fused = (M.ConvBnRelu2d if relu else M.ConvBn2d)(
        conv.in_channels, conv.out_channels, conv.kernel_size[0] + lead, stride=conv.stride,
        padding=conv.padding[0] + lead, groups=conv.groups, bias=False, eps=bn.eps)
    weight = conv.weight.numpy()
    fused.conv.weight = megengine.Parameter(np.pad(weight, [(0, 0)] * (weight.ndim - 2) + [(lead, 0)] * 2))
    fused.bn.weight = megengine.Parameter(bn.weight.numpy())
    fused.bn.bias = megengine.Parameter(bn.bias.numpy())
    fused.bn.running_mean = megengine.Tensor(bn.running_mean.numpy())
    fused.bn.running_var = megengine.Tensor(bn.running_var.numpy())
    return fused


class ChannelClip(M.Module):
    """min(x, clip[c]) per channel: ReLU6's clamp after cross-layer equalization has rescaled channel
    c by 1 / s_c (the clamp becomes 6 / s_c; data_free_quantization.py). Quantised, it is an int8
    MIN against a quantised constant, which Lite runs."""

    def __init__(self, channels, value=RELU6_CAP):
        super().__init__()
        self.clip = megengine.Parameter(np.full((1, channels, 1, 1), value, dtype=np.float32))
        self.stub = M.QuantStub()
        self.min = M.Elemwise("MIN")

    def forward(self, x):
        return self.min(x, self.stub(F.broadcast_to(self.clip, x.shape)))


def clipped(x, clip):
    return x if clip is None else clip(x)


class Block(M.Module):
    def __init__(self, block):
        super().__init__()
        self.expand = conv_bn(block.expand_conv, block.bn0, True) if block.expand_conv is not None else None
        self.depthwise = conv_bn(block.depthwise_conv.conv, block.bn1, True, same_conv=block.depthwise_conv)
        self.project = conv_bn(block.project_conv, block.bn2, False)
        self.residual = block.residual
        self.add = M.Elemwise("ADD")
        # Per-channel clamps, set by equalization (data_free_quantization.py); None: the activation
        # range's cap at 6 is the clamp.
        self.expand_clip = self.depthwise_clip = None

    def forward(self, inputs):
        x = clipped(self.expand(inputs), self.expand_clip) if self.expand is not None else inputs
        x = self.project(clipped(self.depthwise(x), self.depthwise_clip))
        return self.add(x, inputs) if self.residual else x


class QuantizableLite0(M.Module):
    def __init__(self, float_model):
        super().__init__()
        self.quant = M.QuantStub()
        self.stem = conv_bn(float_model.conv_stem.conv, float_model.bn0, True, same_conv=float_model.conv_stem)
        self.blocks = [Block(b) for b in float_model.blocks]
        self.head = conv_bn(float_model.conv_head, float_model.bn1, True)
        self.dequant = M.DequantStub()
        self.fc = M.Linear(float_model.fc.in_features, float_model.fc.out_features)
        self.fc.weight = megengine.Parameter(float_model.fc.weight.numpy())
        self.fc.bias = megengine.Parameter(float_model.fc.bias.numpy())
        self.fc.disable_quantize()
        self.stem_clip = self.head_clip = None

    def forward(self, x):
        x = clipped(self.stem(self.quant(x)), self.stem_clip)
        for block in self.blocks:
            x = block(x)
        x = self.dequant(clipped(self.head(x), self.head_clip))
        return self.fc(F.flatten(F.mean(x, axis=[2, 3], keepdims=True), 1))


def quantize_lite0(float_model, calibration_inputs, calibration="minmax"):
    """The int8 model: observers record activation ranges on `calibration_inputs` (float32 NCHW
    arrays, preprocessed like the model's input) by `calibration` (one of METHODS), then
    weights and activations are quantised."""
    _, equalize, bias_correction = METHODS[calibration]
    model = QuantizableLite0(float_model)
    model.eval()
    caps = {}
    if equalize or bias_correction:
        from bench import data_free_quantization  # it builds on this module's ChannelClip

        caps = data_free_quantization.prepare(model, calibration_inputs, equalize, bias_correction)
    qat = quantize_qat(model, qconfig=calibration_qconfig(METHODS[calibration][0]))
    qat.eval()
    enable_observer(qat)
    for x in calibration_inputs:
        qat(megengine.tensor(x))
    for name, module in qat.named_modules():
        # The qat ConvBnRelu2d (a float one, kept out of quantisation, has no observer): cap at 6, or
        # at the largest of its per-channel clamps after equalization.
        if type(module).__name__ == "ConvBnRelu2d" and hasattr(module, "act_observer"):
            module.act_observer.max_val[...] = F.minimum(module.act_observer.max_val, caps.get(name, RELU6_CAP))
    quantized = quantize(qat)
    quantized.eval()
    return quantized
