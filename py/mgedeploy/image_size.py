"""An image's width and height from its header, before anything is decoded.

A small PNG can decode to gigabytes (30000x30000 pixels from 875 KB, measured: 2.8 GB and 7-12 s
in OpenCV), so the programs check the pixel count first. Written by hand, mirrored line for line by
cc/image_size.cc, because the C++ side has no header-only reader in Debian (OpenCV 4.6 decodes to
learn the size) and both sides must refuse the same files; //py:image_size_test and
//cc:image_size_test check both against the same files. Formats: PNG, JPEG, GIF, BMP, WebP.
Others (TIFF, PNM, ...) return None: they are decoded under the file-size cap alone.
"""
import re
import struct

# A run of fill bytes before a marker, skipped at C speed: a 32 MB body of 0xFF took 3.4 s one byte at a time.
_FILL = re.compile(rb"\xff+")
# Markers read before giving up on a JPEG header: real files have tens before the frame header; a
# body of 8M two-byte standalone markers cost 3 s of CPU. cc/image_size.cc has the same cap.
MAX_JPEG_MARKERS = 1 << 16
_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_size(data):
    """(width, height) from the encoded bytes' header, or None if the format is not one we parse
    or the header is cut short."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        return struct.unpack(">II", data[16:24])
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data[:2] == b"BM" and len(data) >= 26:
        width, height = struct.unpack("<ii", data[18:26])
        return abs(width), abs(height)  # a negative height means top-down rows
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        return _webp_size(data)
    if data[:2] == b"\xff\xd8":
        return _jpeg_size(data)
    return None


def _webp_size(data):
    chunk = data[12:16]
    if chunk == b"VP8X":
        width = 1 + int.from_bytes(data[24:27], "little")
        height = 1 + int.from_bytes(data[27:30], "little")
        return width, height
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if chunk == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    return None


def _jpeg_size(data):
    i, markers = 2, 0
    while i + 4 <= len(data):
        markers += 1
        if markers > MAX_JPEG_MARKERS:
            return None
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill bytes: go to the last 0xFF of the run, which starts the marker
            i = _FILL.match(data, i).end() - 1
            continue
        if marker in (0x01,) or 0xD0 <= marker <= 0xD9:  # markers without a length
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in _JPEG_SOF:
            if i + 9 > len(data):
                return None
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    return None
