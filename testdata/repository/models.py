"""The model repository the server tests serve (testdata/BUILD.bazel exports each function with
//py:export): two small models, each in versions whose seeded weights give different answers."""
import megengine
import megengine.functional as F
import megengine.module as M


class Net(M.Module):
    def __init__(self, channels, classes):
        super().__init__()
        self.conv = M.Conv2d(channels, 8, 3, stride=2, padding=1)
        self.fc = M.Linear(8, classes)

    def forward(self, x):
        return self.fc(F.flatten(F.adaptive_avg_pool2d(F.relu(self.conv(x)), 1), 1))


def _seeded(seed, channels, classes):
    megengine.random.seed(seed)  # stands in for trained weights: each version its own
    return Net(channels, classes)


def digits_1():
    return _seeded(1, 1, 10)


def digits_2():
    return _seeded(2, 1, 10)


def digits_3():
    return _seeded(3, 1, 10)


def colour_1():
    return _seeded(11, 3, 5)


def colour_2():
    return _seeded(12, 3, 5)
