"""ShuffleNetV2 x1.0 (`snetv2_x100`) as basecls defines it, with basecls parameter names.

Module and attribute names follow basecls (`stem.conv`, `stage0.0.branch_main.3`, `head.fc`, ...)
so that a basecls checkpoint loads unchanged. 2,278,760 parameters, ~146 M MACs at 224x224.
"""
import megengine.functional as F
import megengine.module as M

STEM_WIDTH = 24
DEPTHS = (4, 8, 4)
WIDTHS = (116, 232, 464)
HEAD_WIDTH = 1024
NUM_CLASSES = 1000


def _conv(w_in, w_out, k, stride=1, groups=1):
    # basecls' conv2d: "same" padding for odd kernels, no bias (BN follows).
    return M.Conv2d(w_in, w_out, k, stride=stride, padding=(k - 1) // 2, groups=groups, bias=False)


def _split_channels(x):
    """basecls' channel_shuffle: even channels pass through, odd channels enter the main branch."""
    n, c, h, w = x.shape
    x = x.reshape(n, c // 2, 2, h, w)
    return x[:, :, 0], x[:, :, 1]


class SNV2Block(M.Module):
    def __init__(self, w_in, w_out, w_mid, stride):
        super().__init__()
        self.stride = stride
        w_main_out = w_out - w_in
        self.branch_main = M.Sequential(
            _conv(w_in, w_mid, 1),
            M.BatchNorm2d(w_mid),
            M.ReLU(),
            _conv(w_mid, w_mid, 3, stride=stride, groups=w_mid),
            M.BatchNorm2d(w_mid),
            _conv(w_mid, w_main_out, 1),
            M.BatchNorm2d(w_main_out),
            M.ReLU(),
        )
        self.branch_proj = (
            M.Sequential(
                _conv(w_in, w_in, 3, stride=stride, groups=w_in),
                M.BatchNorm2d(w_in),
                _conv(w_in, w_in, 1),
                M.BatchNorm2d(w_in),
                M.ReLU(),
            )
            if stride == 2
            else None
        )

    def forward(self, x):
        if self.stride == 1:
            x_proj, x = _split_channels(x)
        else:
            x_proj = self.branch_proj(x)
        return F.concat((x_proj, self.branch_main(x)), 1)


class SimpleStem(M.Module):
    def __init__(self, w_in, w_out):
        super().__init__()
        self.conv = _conv(w_in, w_out, 3, stride=2)
        self.bn = M.BatchNorm2d(w_out)
        self.act = M.ReLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class ClsHead(M.Module):
    def __init__(self, w_in, width, w_out):
        super().__init__()
        self.conv = _conv(w_in, width, 1)
        self.bn = M.BatchNorm2d(width)
        self.act = M.ReLU()
        self.avg_pool = M.AdaptiveAvgPool2d(1)
        self.fc = M.Linear(width, w_out, bias=False)

    def forward(self, x):
        x = self.avg_pool(self.act(self.bn(self.conv(x))))
        return self.fc(F.flatten(x, 1))


class SNetV2(M.Module):
    def __init__(self):
        super().__init__()
        self.stem = SimpleStem(3, STEM_WIDTH)
        self.maxpool = M.MaxPool2d(3, 2, 1)
        prev_w = STEM_WIDTH
        for stage, (depth, width) in enumerate(zip(DEPTHS, WIDTHS)):
            blocks = []
            for i in range(depth):
                blocks.append(SNV2Block(prev_w // 2 if i else prev_w, width, width // 2, 1 if i else 2))
                prev_w = width
            setattr(self, "stage%d" % stage, M.Sequential(*blocks))
        self.head = ClsHead(prev_w, HEAD_WIDTH, NUM_CLASSES)

    def forward(self, x):
        x = self.maxpool(self.stem(x))
        x = self.stage2(self.stage1(self.stage0(x)))
        return self.head(x)


def build():
    return SNetV2()
