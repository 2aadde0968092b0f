"""Image preprocessing: one spec per model, as data, and the one Python implementation of it.

The spec is written into each exported model's contract (contract.py), which is where the C++
programs read it from: the constants live here and nowhere else.

Geometry (basecls / the MegEngine tutorial): resize the uint8 image so that its shorter side is
`resize_short` (long side `int(resize_short * long / short)`, bilinear; OpenCV rounds to uint8),
then crop `crop` x `crop` at offsets `int(round((side - crop) / 2))` (Python's round: halves go to
even), then float32 `(x - mean) / std` per channel in `color` order (RGB, BGR, or GRAY: one channel,
converted from BGR before resizing), HWC -> NCHW with a batch of 1.
Images are decoded as 3-channel BGR: grayscale is replicated, alpha dropped, 16-bit scaled to 8.
Before decoding, what cannot be a sane image is refused at once (the same rules and words as
cc/preprocess.cc): anything but a regular file (a FIFO would block, /dev/zero never ends), files
over MAX_IMAGE_BYTES, and, by check_size (the processing budget), images whose header promises
more than `max_pixels` pixels, more than OpenCV decodes, or a resized image (before the crop) over
MAX_RESIZED_PIXELS: a 109-byte PNG of 1 x 10,000 pixels would otherwise resize to 256 x 2,560,000
(2 GB). check_size runs again on the decoded size, for formats whose header we do not read.
"""
import errno
import os
import stat

import cv2
import numpy as np

from mgedeploy.image_size import image_size

MAX_IMAGE_BYTES = 64 << 20  # the largest camera JPEGs are ~30 MB
# 64 megapixels decode to 192 MB of BGR; larger photos than that are not classifier inputs.
DEFAULT_MAX_PIXELS = 64 << 20
# The resized image before the crop: 16 Mpx is 48 MB of BGR, and allows a 256:1 strip at
# resize_short 256 (real panoramas are under 10:1).
MAX_RESIZED_PIXELS = 16 << 20
# OpenCV's own decoder limits (CV_IO_MAX_IMAGE_WIDTH, _HEIGHT, _PIXELS defaults): beyond them
# cv2.imdecode raises instead of decoding.
OPENCV_MAX_SIDE = 1 << 20
OPENCV_MAX_PIXELS = 1 << 30

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


class ImageTooLarge(ImageError):
    """The image is over the processing budget (check_size): refused before decoding or resizing."""


def size_problem(width, height, resize_short, max_pixels):
    """Why a width x height image is outside the processing budget for a model that resizes its
    shorter side to resize_short, or None. The one rule, shared with cc/preprocess.cc and held to
    testdata/image_budget_cases.json."""
    if width < 1 or height < 1:
        return "image has no pixels: %dx%d" % (width, height)
    if width * height > max_pixels:
        return _too_many_pixels(width, height, max_pixels)
    if width > OPENCV_MAX_SIDE or height > OPENCV_MAX_SIDE or width * height > OPENCV_MAX_PIXELS:
        return ("image is too large: %dx%d pixels (OpenCV decodes at most %d per side and %d in all)"
                % (width, height, OPENCV_MAX_SIDE, OPENCV_MAX_PIXELS))
    new_h, new_w = resized_size(height, width, resize_short)
    if new_h * new_w > MAX_RESIZED_PIXELS:
        return ("image is too elongated: %dx%d pixels resize to %dx%d for this model (the limit is %d pixels)"
                % (width, height, new_w, new_h, MAX_RESIZED_PIXELS))
    return None


def _too_many_pixels(width, height, max_pixels):
    return "image is too large: %dx%d pixels (the limit is %d; see --max_pixels)" % (width, height, max_pixels)


def check_size(width, height, spec, max_pixels, name):
    """Raises ImageTooLarge (or ImageError for no pixels) naming the image, per size_problem."""
    problem = size_problem(width, height, spec["resize_short"], max_pixels)
    if problem is not None:
        raise (ImageError if width < 1 or height < 1 else ImageTooLarge)("%s: %s" % (name, problem))


def read_encoded(path):
    """The file's bytes, after refusing what is not a regular file or is over MAX_IMAGE_BYTES."""
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise ImageError("%s: cannot read image: Is a directory" % path)
        if not stat.S_ISREG(info.st_mode):
            raise ImageError("%s: cannot read image: not a regular file" % path)
        if info.st_size > MAX_IMAGE_BYTES:
            raise ImageError("%s: cannot read image: the file is too big (%d bytes; the limit is %d)"
                             % (path, info.st_size, MAX_IMAGE_BYTES))
        with open(path, "rb") as f:
            return f.read(MAX_IMAGE_BYTES + 1)
    except OSError as e:
        reason = "symbolic link loop" if e.errno == errno.ELOOP else e.strerror or e
        raise ImageError("%s: cannot read image: %s" % (path, reason)) from e


def decode_bgr(raw, name, max_pixels=DEFAULT_MAX_PIXELS, spec=None):
    """Encoded image bytes -> 3-channel uint8 BGR; `name` is what errors call the image. With the
    model's preprocessing `spec`, the whole processing budget (check_size) is applied, from the
    header before decoding and on the decoded size; without it, only max_pixels by the header."""
    if not raw:
        raise ImageError("%s: cannot read image: the file is empty" % name)
    size = image_size(raw)
    if size is not None:
        if spec is not None:
            check_size(size[0], size[1], spec, max_pixels, name)
        elif size[0] * size[1] > max_pixels:
            raise ImageTooLarge("%s: %s" % (name, _too_many_pixels(size[0], size[1], max_pixels)))
    try:
        image = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as e:  # a decoder that refuses by raising (its limits, a damaged stream)
        raise ImageError("%s: not an image OpenCV can decode (%s)" % (name, last_line(e)[:200])) from None
    if image is None:
        raise ImageError("%s: not an image OpenCV can decode" % name)
    if spec is not None:
        check_size(image.shape[1], image.shape[0], spec, max_pixels, name)
    return image


def last_line(error):
    """An exception's last non-empty line (OpenCV's errors span several; the last says why)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def read_bgr(path, max_pixels=DEFAULT_MAX_PIXELS, spec=None):
    """Decodes any image OpenCV reads into a 3-channel uint8 BGR array (decode_bgr's checks)."""
    return decode_bgr(read_encoded(path), path, max_pixels, spec)


def resized_size(height, width, resize_short):
    """(height, width) after scaling the shorter side to resize_short."""
    if height <= width:
        return resize_short, int(resize_short * width / height)
    return int(resize_short * height / width), resize_short


def crop_offset(size, crop):
    return int(round((size - crop) / 2))


def preprocess_bgr(image, spec):
    """uint8 HxWx3 BGR -> float32 (1, C, crop, crop) input tensor: C = 3 for RGB and BGR, 1 for
    GRAY (converted from BGR first, with OpenCV's fixed-point weights, then resized)."""
    if spec["color"] == "GRAY":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[:, :, np.newaxis]
    new_h, new_w = resized_size(image.shape[0], image.shape[1], spec["resize_short"])
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    if resized.ndim == 2:  # OpenCV drops the channel axis of a one-channel image
        resized = resized[:, :, np.newaxis]
    crop = spec["crop"]
    top, left = crop_offset(new_h, crop), crop_offset(new_w, crop)
    patch = resized[top:top + crop, left:left + crop]
    if spec["color"] == "RGB":
        patch = patch[:, :, ::-1]
    mean = np.asarray(spec["mean"], dtype=np.float32)
    std = np.asarray(spec["std"], dtype=np.float32)
    normalised = (patch.astype(np.float32) - mean) / std
    return np.ascontiguousarray(normalised.transpose(2, 0, 1)[np.newaxis])


def load(path, spec, max_pixels=DEFAULT_MAX_PIXELS):
    return preprocess_bgr(read_bgr(path, max_pixels, spec), spec)
