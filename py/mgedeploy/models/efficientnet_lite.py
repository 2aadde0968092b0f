"""EfficientNet-Lite0 in MegEngine, with the parameter layout of `efficientnet_pytorch`.

No squeeze-excite, ReLU6 everywhere, BN eps 1e-3, TensorFlow "SAME" padding. Attribute names are the
`efficientnet_pytorch` keys without their leading underscores (`_blocks.3._bn1` -> `blocks.3.bn1`),
so `weights/pth_reader.py` and `weights/sources.py` map the packaged `.pth` by a rename and a reshape.

Two things are written the way they are for MegEngine 1.13, both measured (docs/speed.md):
- ReLU6 is `min(relu(x), 6)`: `F.clip(x, 0, 6)` dumps a wrong upper bound and Lite then outputs
  zeros; `F.relu6` dumps as two elementwise passes after each convolution, while a plain ReLU fuses
  into the convolution's kernel, leaving one pass (Lite's elementwise time halves; same values).
- The asymmetric "SAME" padding of stride-2 convolutions is not a Pad op (34 % of Lite's time):
  one zero row and column are joined on at the bottom/right and the convolution pads symmetrically.
"""
import megengine.functional as F
import megengine.module as M

INPUT_SIZE = 224
NUM_CLASSES = 1000
BN_EPS = 1e-3
STEM_WIDTH = 32
HEAD_WIDTH = 1280
# (repeats, kernel, stride, expand ratio, input width, output width) per stage.
STAGES = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


def relu6(x):
    return F.minimum(F.relu(x), 6.0)


# The forms measured on the way to the deployed one (//bench:speed_path; docs/speed.md). All
# compute the same function; build() uses the first of each.
RELU6_FORMS = {"min_relu": relu6, "relu6": F.relu6}
PADDING_FORMS = ("concat", "pad_op")


def same_padding(size, kernel, stride):
    """TensorFlow "SAME": (before, after) padding of one spatial dimension."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(M.Module):
    """A bias-free convolution with TF "SAME" padding for a fixed input size, without a Pad op.

    When "SAME" wants one more zero at the end than at the start (stride 2 on even sizes), a zero
    row and column are concatenated at the bottom/right and the convolution pads `before` on every
    side: the same arithmetic, with no Padding operator in the graph.
    """

    def __init__(self, w_in, w_out, kernel, stride, input_size, groups=1, padding_form="concat"):
        super().__init__()
        before, after = same_padding(input_size, kernel, stride)
        if after - before not in (0, 1):
            raise ValueError("unsupported SAME padding %s" % ((before, after),))
        self.extra_zero = after - before == 1
        self.pad_op = (before, after) if padding_form == "pad_op" else None
        self.conv = M.Conv2d(w_in, w_out, kernel, stride=stride, padding=0 if self.pad_op else before, groups=groups,
                             bias=False)
        self.output_size = -(-input_size // stride)

    def forward(self, x):
        if self.pad_op:  # the textbook form: an explicit Padding operator
            return self.conv(F.nn.pad(x, ((0, 0), (0, 0), self.pad_op, self.pad_op)))
        if self.extra_zero:
            x = F.concat([x, F.zeros_like(x[:, :, :1, :])], axis=2)
            x = F.concat([x, F.zeros_like(x[:, :, :, :1])], axis=3)
        return self.conv(x)


class MBConvBlock(M.Module):
    def __init__(self, w_in, w_out, kernel, stride, expand, input_size, padding_form="concat", relu6_form="min_relu"):
        super().__init__()
        self.relu6 = RELU6_FORMS[relu6_form]
        w_mid = w_in * expand
        if expand != 1:
            self.expand_conv = M.Conv2d(w_in, w_mid, 1, bias=False)
            self.bn0 = M.BatchNorm2d(w_mid, eps=BN_EPS)
        else:
            self.expand_conv = None
        self.depthwise_conv = SameConv2d(w_mid, w_mid, kernel, stride, input_size, groups=w_mid,
                                         padding_form=padding_form)
        self.bn1 = M.BatchNorm2d(w_mid, eps=BN_EPS)
        self.project_conv = M.Conv2d(w_mid, w_out, 1, bias=False)
        self.bn2 = M.BatchNorm2d(w_out, eps=BN_EPS)
        self.residual = stride == 1 and w_in == w_out
        self.output_size = self.depthwise_conv.output_size

    def forward(self, inputs):
        x = inputs
        if self.expand_conv is not None:
            x = self.relu6(self.bn0(self.expand_conv(x)))
        x = self.relu6(self.bn1(self.depthwise_conv(x)))
        x = self.bn2(self.project_conv(x))
        return x + inputs if self.residual else x


class EfficientNetLite0(M.Module):
    def __init__(self, padding_form="concat", relu6_form="min_relu"):
        super().__init__()
        self.relu6 = RELU6_FORMS[relu6_form]
        self.conv_stem = SameConv2d(3, STEM_WIDTH, 3, 2, INPUT_SIZE, padding_form=padding_form)
        self.bn0 = M.BatchNorm2d(STEM_WIDTH, eps=BN_EPS)
        size = self.conv_stem.output_size
        self.blocks = []
        for repeats, kernel, stride, expand, w_in, w_out in STAGES:
            for i in range(repeats):
                block = MBConvBlock(w_in if i == 0 else w_out, w_out, kernel, stride if i == 0 else 1, expand, size,
                                    padding_form, relu6_form)
                size = block.output_size
                self.blocks.append(block)
        self.conv_head = M.Conv2d(STAGES[-1][-1], HEAD_WIDTH, 1, bias=False)
        self.bn1 = M.BatchNorm2d(HEAD_WIDTH, eps=BN_EPS)
        self.fc = M.Linear(HEAD_WIDTH, NUM_CLASSES)

    def forward(self, x):
        x = self.relu6(self.bn0(self.conv_stem(x)))
        for block in self.blocks:
            x = block(x)
        x = self.relu6(self.bn1(self.conv_head(x)))
        return self.fc(F.flatten(F.mean(x, axis=[2, 3], keepdims=True), 1))


def build(padding_form="concat", relu6_form="min_relu"):
    return EfficientNetLite0(padding_form, relu6_form)
