"""Preprocessing, checked against values worked out by hand; the processing budget against the
table cc/preprocess_test.cc reads too."""
import json
import os
import struct
import sys
import zlib

import cv2
import numpy as np
import pytest

from mgedeploy import preprocess

# py/mgedeploy/preprocess_test.py in the source tree and in the runfiles alike.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUDGET_CASES = os.path.join(ROOT, "testdata", "image_budget_cases.json")
SPEC = preprocess.SPECS["efficientnet_lite0"]


@pytest.mark.parametrize("case", json.load(open(BUDGET_CASES))["cases"], ids=lambda c: c["what"])
def test_budget_table(case):
    assert preprocess.size_problem(case["width"], case["height"], case["resize_short"],
                                   case["max_pixels"]) == case["problem"]


def png(width, height):
    """A valid 8-bit gray PNG of width x height zeros (tiny: zlib shrinks the rows)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = (b"\0" + b"\0" * width) * height
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def test_the_budget_refuses_before_decoding():
    with pytest.raises(preprocess.ImageTooLarge, match=r"^a: image is too elongated: 1x10000 pixels"):
        preprocess.decode_bgr(png(1, 10000), "a", spec=SPEC)
    image = preprocess.decode_bgr(png(3, 2), "b", spec=SPEC)
    assert image.shape == (2, 3, 3)


def test_the_budget_applies_to_the_decoded_size_too(tmp_path):
    """A TIFF's header is not read before decoding: its decoded size is checked before resizing."""
    path = str(tmp_path / "strip.tiff")
    cv2.imwrite(path, np.zeros((1, 20000, 3), np.uint8))
    with pytest.raises(preprocess.ImageTooLarge, match="too elongated: 20000x1 pixels"):
        preprocess.load(path, SPEC)


def test_crop_normalise_by_hand():
    # 4x7 BGR image: B = 10 * row + col, G = 100, R = 200. resize_short = 4 keeps it 4x7 (an
    # identity resize); crop 2 starts at row int(round(1.0)) = 1 and col int(round(2.5)) = 2
    # (Python rounds halves to even).
    image = np.zeros((4, 7, 3), np.uint8)
    for r in range(4):
        for c in range(7):
            image[r, c] = (10 * r + c, 100, 200)
    spec = {"color": "RGB", "resize_short": 4, "crop": 2, "mean": [1, 2, 3], "std": [2, 4, 8]}
    out = preprocess.preprocess_bgr(image, spec)
    assert out.shape == (1, 3, 2, 2) and out.dtype == np.float32
    # Channel 0 is R after the RGB swap: (200 - 1) / 2; channel 1 is G: (100 - 2) / 4.
    np.testing.assert_array_equal(out[0, 0], np.full((2, 2), 99.5, np.float32))
    np.testing.assert_array_equal(out[0, 1], np.full((2, 2), 24.5, np.float32))
    # Channel 2 is B at rows 1-2, cols 2-3: (12 - 3) / 8, (13 - 3) / 8, (22 - 3) / 8, (23 - 3) / 8.
    np.testing.assert_array_equal(out[0, 2], np.array([[1.125, 1.25], [2.375, 2.5]], np.float32))


def test_bgr_spec_keeps_channel_order():
    image = np.zeros((2, 2, 3), np.uint8)
    image[:] = (10, 20, 30)
    spec = {"color": "BGR", "resize_short": 2, "crop": 2, "mean": [0, 0, 0], "std": [1, 1, 1]}
    out = preprocess.preprocess_bgr(image, spec)
    assert [float(out[0, c, 0, 0]) for c in range(3)] == [10.0, 20.0, 30.0]


def test_geometry():
    assert preprocess.resized_size(300, 451, 256) == (256, 384)  # int(256 * 451 / 300) = 384
    assert preprocess.resized_size(451, 300, 256) == (384, 256)
    assert preprocess.resized_size(10, 10, 256) == (256, 256)  # small images are scaled up
    assert preprocess.crop_offset(384, 224) == 80
    assert preprocess.crop_offset(229, 224) == 2  # round(2.5) -> 2
    assert preprocess.crop_offset(231, 224) == 4  # round(3.5) -> 4


def test_decodes_gray_and_alpha_as_bgr(tmp_path):
    gray = tmp_path / "gray.png"
    cv2.imwrite(str(gray), np.full((5, 6), 77, np.uint8))
    rgba = tmp_path / "rgba.png"
    cv2.imwrite(str(rgba), np.dstack([np.full((5, 6), v, np.uint8) for v in (1, 2, 3, 0)]))
    assert preprocess.read_bgr(str(gray)).shape == (5, 6, 3)
    assert preprocess.read_bgr(str(gray))[0, 0].tolist() == [77, 77, 77]
    assert preprocess.read_bgr(str(rgba))[0, 0].tolist() == [1, 2, 3]
    spec = preprocess.SPECS["efficientnet_lite0"]
    assert preprocess.load(str(gray), spec).shape == (1, 3, 224, 224)


def test_bad_images(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(preprocess.ImageError, match="not an image"):
        preprocess.read_bgr(str(text))
    with pytest.raises(preprocess.ImageError, match="empty"):
        preprocess.read_bgr(str(empty))
    with pytest.raises(preprocess.ImageError, match="No such file"):
        preprocess.read_bgr(str(tmp_path / "missing.jpg"))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
