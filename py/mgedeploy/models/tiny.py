"""A tiny, seeded convolutional net: the smoke model that proves trace -> dump -> Lite works.

Real models live beside this file; this one exists so the toolchain can be tested in seconds.
"""
import os

import megengine
import megengine.functional as F
import megengine.module as M
import numpy as np
from megengine.jit import trace

INPUT_NAME = "data"
INPUT_SHAPE = (1, 3, 8, 8)
NUM_CLASSES = 10


class TinyNet(M.Module):
    def __init__(self):
        super().__init__()
        self.conv = M.Conv2d(3, 4, 3, padding=1)
        self.fc = M.Linear(4, NUM_CLASSES)

    def forward(self, x):
        x = F.relu(self.conv(x))
        return self.fc(F.mean(x, axis=[2, 3]))


def build(seed: int = 0) -> TinyNet:
    megengine.random.seed(seed)
    net = TinyNet()
    net.eval()
    return net


def sample_input() -> np.ndarray:
    """A fixed input, so the C++ smoke test can recompute it without sharing a file."""
    count = int(np.prod(INPUT_SHAPE))
    return (np.arange(count, dtype=np.float32) / count - 0.5).reshape(INPUT_SHAPE)


def eager_softmax(net: TinyNet, data: np.ndarray) -> np.ndarray:
    return F.softmax(net(megengine.tensor(data))).numpy()


def dump(net: TinyNet, path: str) -> None:
    """Traces softmax(net(data)) and dumps it to `path` (written to a temp file, then renamed)."""

    @trace(symbolic=True, capture_as_const=True)
    def infer(data):
        return F.softmax(net(data))

    infer(megengine.tensor(sample_input()))
    tmp = path + ".tmp"
    infer.dump(tmp, arg_names=[INPUT_NAME])
    os.replace(tmp, path)
