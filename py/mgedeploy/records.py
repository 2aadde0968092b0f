"""The records the API returns and `//py:inference --json` prints, typed.

    {"model": "m.mge", "image": "cat.jpg",
     "top": [{"index": 282, "name": "tiger_cat", "probability": 0.41}, ...]}
"""
from typing import List, Sequence, TypedDict

import numpy as np


class TopClass(TypedDict):
    index: int
    name: str
    probability: float


class Record(TypedDict):
    model: str
    image: str
    top: List[TopClass]


def top_classes(probs: np.ndarray, names: Sequence[str], k: int) -> List[TopClass]:
    """The k most probable classes, highest first; ties keep the lower index (stable)."""
    order = np.argsort(-probs, kind="stable")[:k]
    return [{"index": int(i), "name": names[i], "probability": float(probs[i])} for i in order]
