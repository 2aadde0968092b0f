"""The V2 binary tensor data extension (Triton's, which `tritonclient.http` uses by default): a body
whose first `Inference-Header-Content-Length` bytes are the JSON request and the rest the inputs'
raw bytes, each input naming its share with `"parameters": {"binary_data_size": N}`; answers the
same way when asked (`"binary_data_output": true` on the request, or `"binary_data": true` on an
output). FP32 is little-endian float32; BYTES elements are each a 4-byte little-endian length and
the bytes.
"""
import struct

import numpy as np

from mgedeploy.serving.uploads import HttpError

HEADER = "Inference-Header-Content-Length"


def split(body, header_value):
    """(JSON bytes, binary bytes) of a request body; header_value is the header's text or None."""
    if header_value is None:
        return body, b""
    if not header_value.isdigit() or int(header_value) > len(body):
        raise HttpError(400, "%s must be the JSON part's length, at most the body's %d bytes, got %r"
                        % (HEADER, len(body), header_value[:40]))
    length = int(header_value)
    return body[:length], body[length:]


def binary_size(parameters, name):
    """An input's declared binary_data_size, or None when its data is in the JSON."""
    if parameters is None:
        return None
    if not isinstance(parameters, dict):
        raise HttpError(400, "input %r: \"parameters\" must be an object" % name)
    if "binary_data_size" not in parameters:
        return None
    size = parameters["binary_data_size"]
    if type(size) is not int or size < 0:
        raise HttpError(400, "input %r: binary_data_size must be a non-negative integer, got %r" % (name, size))
    return size


def fp32(raw, name, shape):
    """The float32 array of `shape` from raw little-endian bytes."""
    expected = int(np.prod(shape))
    if len(raw) != 4 * expected:
        raise HttpError(400, "input %r: %d bytes of binary data for FP32 shape %r (%d expected)"
                        % (name, len(raw), shape, 4 * expected))
    return np.frombuffer(raw, "<f4").astype(np.float32).reshape(shape)


def byte_elements(raw, name, count):
    """The `count` BYTES elements of raw binary data (each a 4-byte length, then the bytes)."""
    elements, offset = [], 0
    for i in range(count):
        if offset + 4 > len(raw):
            raise HttpError(400, "input %r: binary data ends before element %d's length" % (name, i))
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise HttpError(400, "input %r: element %d says %d bytes; %d are left" % (name, i, length, len(raw) - offset))
        elements.append(raw[offset:offset + length])
        offset += length
    if offset != len(raw):
        raise HttpError(400, "input %r: %d bytes of binary data after its %d elements" % (name, len(raw) - offset, count))
    return elements


def wants_binary_output(request_parameters, outputs):
    """Whether the answer's output goes as binary data."""
    if isinstance(request_parameters, dict) and request_parameters.get("binary_data_output") is True:
        return True
    return any(isinstance(o.get("parameters"), dict) and o["parameters"].get("binary_data") is True
               for o in outputs or [])


def output_bytes(output, array):
    """Moves an answer's output's data out of its JSON: returns the raw bytes that follow it."""
    raw = np.ascontiguousarray(array, "<f4").tobytes()
    del output["data"]
    output["parameters"] = {"binary_data_size": len(raw)}
    return raw
