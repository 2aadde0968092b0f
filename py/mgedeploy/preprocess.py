"""Image preprocessing: one spec per model, as data, and the one Python implementation of it.

The spec is written into each exported model's contract (contract.py), which is where the C++
programs read it from: the constants live here and nowhere else.

Geometry (basecls / the MegEngine tutorial): resize the uint8 image so that its shorter side is
`resize_short` (long side `int(resize_short * long / short)`, bilinear; OpenCV rounds to uint8),
then crop `crop` x `crop` at offsets `int(round((side - crop) / 2))` (Python's round: halves go to
even), then float32 `(x - mean) / std` per channel in `color` order, HWC -> NCHW with a batch of 1.
Images are decoded as 3-channel BGR: grayscale is replicated, alpha dropped, 16-bit scaled to 8.
"""
import cv2
import numpy as np

SPECS = {
    # basecls ImageNet statistics, in BGR order (cv2.imread's order), 0-255 scale.
    "snetv2_x100": {
        "color": "BGR",
        "resize_short": 256,
        "crop": 224,
        "mean": [103.530, 116.280, 123.675],
        "std": [57.375, 57.120, 58.395],
    },
    # The efficientnet_pytorch Lite0 weights were trained on RGB scaled to about [-1, 1].
    "efficientnet_lite0": {
        "color": "RGB",
        "resize_short": 256,
        "crop": 224,
        "mean": [127.0, 127.0, 127.0],
        "std": [128.0, 128.0, 128.0],
    },
}


class ImageError(ValueError):
    """The file is missing, unreadable, or not an image OpenCV can decode."""


def read_bgr(path):
    """Decodes any image OpenCV reads into a 3-channel uint8 BGR array."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ImageError("%s: cannot read image: %s" % (path, e.strerror or e)) from e
    if not raw:
        raise ImageError("%s: cannot read image: the file is empty" % path)
    image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ImageError("%s: not an image OpenCV can decode" % path)
    return image


def resized_size(height, width, resize_short):
    """(height, width) after scaling the shorter side to resize_short."""
    if height <= width:
        return resize_short, int(resize_short * width / height)
    return int(resize_short * height / width), resize_short


def crop_offset(size, crop):
    return int(round((size - crop) / 2))


def preprocess_bgr(image, spec):
    """uint8 HxWx3 BGR -> float32 (1, 3, crop, crop) input tensor."""
    new_h, new_w = resized_size(image.shape[0], image.shape[1], spec["resize_short"])
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    crop = spec["crop"]
    top, left = crop_offset(new_h, crop), crop_offset(new_w, crop)
    patch = resized[top:top + crop, left:left + crop]
    if spec["color"] == "RGB":
        patch = patch[:, :, ::-1]
    mean = np.asarray(spec["mean"], dtype=np.float32)
    std = np.asarray(spec["std"], dtype=np.float32)
    normalised = (patch.astype(np.float32) - mean) / std
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[np.newaxis])


def load(path, spec):
    return preprocess_bgr(read_bgr(path), spec)
