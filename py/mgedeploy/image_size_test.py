"""image_size on the test images against testdata/image_sizes.txt, the table //cc:image_size_test
reads too; and a 30000x30000 PNG header is refused before any decoding."""
import os
import struct
import sys
import zlib

import pytest

from mgedeploy import preprocess
from mgedeploy.cli import paths
from mgedeploy.image_size import image_size

TABLE = os.path.join(paths.REPO_ROOT, "testdata", "image_sizes.txt")


def rows():
    with open(TABLE) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                path, *size = line.split()
                yield path, None if size == ["none"] else tuple(int(v) for v in size)


@pytest.mark.parametrize("path,expected", list(rows()), ids=lambda v: str(v))
def test_size_from_header(path, expected):
    with open(os.path.join(paths.REPO_ROOT, path), "rb") as f:
        assert image_size(f.read()) == expected


def png_header(width, height):
    """A PNG whose IHDR promises width x height, with one tiny IDAT (a decompression bomb's header)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b"")


def test_pixel_bomb_refused_before_decoding():
    with pytest.raises(preprocess.ImageError, match=r"bomb: image is too large: 30000x30000 pixels"):
        preprocess.decode_bgr(png_header(30000, 30000), "bomb")


def test_cut_headers_are_not_guessed():
    for data in (b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"RIFF\0\0\0\0WEBP"):
        assert image_size(data) is None


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
