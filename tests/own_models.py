"""Models "of the user's own", written to a folder outside the repository as a user would write
them: a Python file with a function returning a megengine Module with its weights, a labels file
and a preprocessing JSON. Used by the own-model and bad-input tests."""
import json
import os

# A handwritten-digit classifier as the tutorial series has it: 28x28 grayscale, 10 classes.
DIGITS = '''
import megengine
import megengine.functional as F
import megengine.module as M


class DigitNet(M.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = M.Conv2d(1, 8, 3, padding=1)
        self.conv2 = M.Conv2d(8, 16, 3, stride=2, padding=1)
        self.fc = M.Linear(16 * 14 * 14, 10)

    def forward(self, x):
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        return self.fc(F.flatten(x, 1))


def build():
    megengine.random.seed(7)  # stands in for loading trained weights
    return DigitNet()


def feature_map():
    """Returns a model whose output is not [N, classes]."""
    megengine.random.seed(7)
    return M.Conv2d(1, 4, 3)


def not_a_model():
    return {"weights": "here"}


def broken():
    raise RuntimeError("weights file not found")


NOT_A_FUNCTION = 3
'''

# A colour model of another size and class count: 48x48 BGR, 5 classes, a BatchNorm in eval mode.
COLOUR = '''
import megengine
import megengine.functional as F
import megengine.module as M


class Tiny(M.Module):
    def __init__(self):
        super().__init__()
        self.conv = M.Conv2d(3, 6, 5, stride=2, padding=2)
        self.bn = M.BatchNorm2d(6)
        self.fc = M.Linear(6, 5)

    def forward(self, x):
        return self.fc(F.mean(F.relu(self.bn(self.conv(x))), axis=[2, 3]))


def build():
    megengine.random.seed(3)
    return Tiny()
'''

MODELS = {
    "digits": (DIGITS, {"color": "GRAY", "resize_short": 32, "crop": 28, "mean": [127.5], "std": [127.5]},
               ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"], "1,1,28,28"),
    "colour": (COLOUR, {"color": "BGR", "resize_short": 56, "crop": 48, "mean": [100.0, 110.0, 120.0],
                        "std": [60.0, 61.0, 62.0]}, ["ant", "bee", "cicada", "dragonfly", "earwig"], "1,3,48,48"),
}


def write(directory, kind):
    """Writes `kind`'s model file, labels and preprocessing into `directory`; returns their paths
    and the --input_shape value: (model.py, labels.txt, preprocess.json, shape)."""
    source, spec, labels, shape = MODELS[kind]
    os.makedirs(directory, exist_ok=True)
    paths = [os.path.join(directory, kind + suffix) for suffix in ("_model.py", "_labels.txt", "_preprocess.json")]
    with open(paths[0], "w") as f:
        f.write(source)
    with open(paths[1], "w") as f:
        f.write("\n".join(labels) + "\n")
    with open(paths[2], "w") as f:
        json.dump(spec, f)
    return (*paths, shape)
