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
images: "minmax" (the extremes seen) or "percentile" (each image's 99.999th / 0.001st percentile,
averaged over the images: a few outliers no longer stretch the range).
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
CALIBRATIONS = ("minmax", "percentile")


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


class Block(M.Module):
    def __init__(self, block):
        super().__init__()
        self.expand = conv_bn(block.expand_conv, block.bn0, True) if block.expand_conv is not None else None
        self.depthwise = conv_bn(block.depthwise_conv.conv, block.bn1, True, same_conv=block.depthwise_conv)
        self.project = conv_bn(block.project_conv, block.bn2, False)
        self.residual = block.residual
        self.add = M.Elemwise("ADD")

    def forward(self, inputs):
        x = self.expand(inputs) if self.expand is not None else inputs
        x = self.project(self.depthwise(x))
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

    def forward(self, x):
        x = self.stem(self.quant(x))
        for block in self.blocks:
            x = block(x)
        x = self.dequant(self.head(x))
        return self.fc(F.flatten(F.mean(x, axis=[2, 3], keepdims=True), 1))


def quantize_lite0(float_model, calibration_inputs, calibration="minmax"):
    """The int8 model: observers record activation ranges on `calibration_inputs` (float32 NCHW
    arrays, preprocessed like the model's input) by `calibration` (one of CALIBRATIONS), then
    weights and activations are quantised."""
    model = QuantizableLite0(float_model)
    model.eval()
    qat = quantize_qat(model, qconfig=calibration_qconfig(calibration))
    qat.eval()
    enable_observer(qat)
    for x in calibration_inputs:
        qat(megengine.tensor(x))
    for _, module in qat.named_modules():
        # The qat ConvBnRelu2d (a float one, kept out of quantisation, has no observer): cap at 6.
        if type(module).__name__ == "ConvBnRelu2d" and hasattr(module, "act_observer"):
            module.act_observer.max_val[...] = F.minimum(module.act_observer.max_val, RELU6_CAP)
    quantized = quantize(qat)
    quantized.eval()
    return quantized
