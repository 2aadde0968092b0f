"""The Open Inference Protocol (KServe V2) REST shapes: model metadata, and infer requests turned
into what a worker runs (images or a float32 tensor), with a 400 for anything malformed.

Two inputs per model: the graph's own (FP32, [n, C, H, W]) and "image" (BYTES, [n]: base64
encoded JPEG/PNG/BMP/WebP files the server preprocesses as the model contract says). One output:
the model's (FP32, [n, classes]).
"""
import base64
import binascii
from typing import Any, Tuple

import msgspec
import numpy as np
import orjson

from mgedeploy.serving import v2_binary
from mgedeploy.serving.uploads import HttpError, check_image

IMAGE_INPUT = "image"
# What GET /v2 and gRPC's ServerMetadata list.
EXTENSIONS = ["classify", "metrics", "model_repository", "binary_tensor_data"]


def index_ready_only(body):
    """POST /v2/repository/index's body: empty, or {"ready": true|false}; 400 otherwise."""
    if not body.strip():
        return False
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise HttpError(400, "the index request is not JSON: %s" % e) from None
    if not isinstance(request, dict) or not isinstance(request.get("ready", False), bool):
        raise HttpError(400, 'the index request must be {} or {"ready": true|false}')
    return request.get("ready", False)


def one_input_problem(contract):
    """What a request gets that does not hold exactly one input."""
    return HttpError(400, "\"inputs\" must be a list of one input (%r or %r)" % (contract["input"]["name"], IMAGE_INPUT))


def metadata(name, contract, versions):
    _, channels, height, width = contract["input"]["shape"]
    classes = contract["output"]["shape"][1]
    return {
        "name": name,
        "versions": versions,
        "platform": "megengine_lite",
        "inputs": [
            {"name": contract["input"]["name"], "datatype": "FP32", "shape": [-1, channels, height, width]},
            {"name": IMAGE_INPUT, "datatype": "BYTES", "shape": [-1],
             "parameters": {"content": "base64 JPEG, PNG, BMP or WebP; preprocessed by the server"}},
        ],
        "outputs": [{"name": contract["output"]["name"], "datatype": "FP32", "shape": [-1, classes]}],
    }


class _Input(msgspec.Struct):
    """One input, every field kept as raw JSON until it has been checked (a missing one is empty)."""
    name: msgspec.Raw = msgspec.Raw()
    shape: msgspec.Raw = msgspec.Raw()
    datatype: msgspec.Raw = msgspec.Raw()
    data: msgspec.Raw = msgspec.Raw()
    parameters: msgspec.Raw = msgspec.Raw()


class _Request(msgspec.Struct):
    inputs: msgspec.Raw = msgspec.Raw()
    outputs: msgspec.Raw = msgspec.Raw()
    id: msgspec.Raw = msgspec.Raw()
    parameters: msgspec.Raw = msgspec.Raw()


_REQUEST = msgspec.json.Decoder(_Request)
_ONE_INPUT = msgspec.json.Decoder(Tuple[_Input])  # stops at a second input: no list of 10M objects
_ANY = msgspec.json.Decoder(Any)
SMALL_FIELD_BYTES = 64 << 10  # name, shape, datatype, outputs, id: decoded only if this small
# A JSON number as clients write it (orjson: at most 24 characters) plus separators and brackets.
MAX_CHARS_PER_VALUE = 64
_NUMBER_CHARS = b"0123456789+-.eE, \t\n\r"
CHUNK_BYTES = 256 << 10


def parse_infer_body(body, contract, max_inputs, max_pixels, header_length=None):
    """The raw body -> (the request's small fields, kind, value): ("images", [bytes, ...]) or
    ("tensor", float32 (n, C, H, W)). header_length: the Inference-Header-Content-Length header
    (v2_binary.py: the JSON is that many bytes, the input's binary data follows). Nothing in it
    grows faster than the body: each field stays raw JSON (msgspec.Raw) until the declared shape has
    been checked, and FP32 data is parsed a slice at a time (_numbers), not into one list of Python
    floats (orjson's list of 7.75M floats for a 31 MB body cost +294 MB)."""
    body, binary = v2_binary.split(body, header_length)
    try:
        request = _REQUEST.decode(body)
    except msgspec.ValidationError:
        raise HttpError(400, "the request must be a JSON object with \"inputs\"") from None
    except msgspec.DecodeError as e:
        raise HttpError(400, "the body is not JSON: %s" % e) from None
    small = {"outputs": _small(request.outputs, "\"outputs\""), "id": _small(request.id, "\"id\""),
             "parameters": _small(request.parameters, "\"parameters\"")}
    try:
        (raw_input,) = _ONE_INPUT.decode(request.inputs) if request.inputs else (None,)
    except msgspec.DecodeError:
        raw_input = None
    if raw_input is None:
        raise one_input_problem(contract)
    check_outputs(small["outputs"], contract)
    small["binary_output"] = v2_binary.wants_binary_output(small["parameters"], small["outputs"])
    name, shape, datatype, parameters = (_small(getattr(raw_input, key), key)
                                         for key in ("name", "shape", "datatype", "parameters"))
    size = v2_binary.binary_size(parameters, name)
    if size is None and binary:
        raise HttpError(400, "%d bytes of binary data follow the JSON, but input %r has no binary_data_size"
                        % (len(binary), name))
    if size is not None:
        if raw_input.data:
            raise HttpError(400, "input %r has both \"data\" and binary_data_size" % name)
        if size != len(binary):
            raise HttpError(400, "input %r: binary_data_size %d, but %d bytes follow the JSON" % (name, size, len(binary)))
        return (small,) + _parse_input(name, shape, datatype, None, contract, max_inputs, max_pixels, binary)
    return (small,) + _parse_input(name, shape, datatype, raw_input.data, contract, max_inputs, max_pixels)


def parse_input_bytes(name, shape, datatype, raw, contract, max_inputs, max_pixels):
    """One input whose data is raw bytes (gRPC's raw_input_contents, laid out as the binary
    extension's: little-endian FP32, or length-prefixed BYTES elements) -> (kind, value)."""
    return _parse_input(name, shape, datatype, None, contract, max_inputs, max_pixels, raw)


def _small(raw, what):
    if not raw:
        return None
    if len(raw) > SMALL_FIELD_BYTES:
        raise HttpError(400, "%s is %d bytes of JSON; at most %d are expected" % (what, len(raw), SMALL_FIELD_BYTES))
    return _ANY.decode(raw)


def _parse_input(name, shape, datatype, data, contract, max_inputs, max_pixels, binary=None):
    """The one input's decoded small fields and raw JSON `data` (or its `binary` data) -> (kind,
    value) as parse_infer_body."""
    if not data and binary is None:
        raise HttpError(400, "input %r has no \"data\"" % name)
    # bool is an int in Python: [true, 3, 224, 224] is not a shape.
    if not isinstance(shape, list) or not shape or not all(type(d) is int and d > 0 for d in shape):
        raise HttpError(400, "input %r: \"shape\" must be a list of positive integers, got %r" % (name, shape))
    if shape[0] > max_inputs:
        raise HttpError(413, "input %r: %d items in one request; the limit is %d (--max_batch_inputs)"
                        % (name, shape[0], max_inputs))
    if name == IMAGE_INPUT:
        if datatype != "BYTES":
            raise HttpError(400, "input %r: datatype must be BYTES, got %r" % (name, datatype))
        return "images", _images(data, shape, max_pixels, contract["preprocess"], binary)
    if name == contract["input"]["name"]:
        if datatype != "FP32":
            raise HttpError(400, "input %r: datatype must be FP32, got %r" % (name, datatype))
        return "tensor", _tensor(name, data, shape, contract["input"]["shape"][1:], binary)
    raise HttpError(400, "unknown input %r: this model takes %r (FP32) or %r (BYTES)"
                    % (name, contract["input"]["name"], IMAGE_INPUT))


def response(name, version, request, contract, outputs):
    """(body, headers) of the infer response: JSON (orjson writes the float32 array directly), or
    JSON then the output's bytes when the request asked for binary output (v2_binary.py)."""
    probabilities = np.stack(outputs)
    answer = {"model_name": name, "model_version": version,
              "outputs": [{"name": contract["output"]["name"], "datatype": "FP32",
                           "shape": list(probabilities.shape), "data": probabilities.ravel()}]}
    if isinstance(request.get("id"), str):
        answer["id"] = request["id"]
    if not request.get("binary_output"):
        return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY), {}
    raw = v2_binary.output_bytes(answer["outputs"][0], probabilities)
    header = orjson.dumps(answer)
    return header + raw, {v2_binary.HEADER: str(len(header))}


def check_outputs(wanted, contract):
    if wanted is None:
        return
    if not isinstance(wanted, list) or not all(isinstance(o, dict) for o in wanted):
        raise HttpError(400, "\"outputs\" must be a list of objects with a \"name\"")
    for output in wanted:
        if output.get("name") != contract["output"]["name"]:
            raise HttpError(400, "unknown output %r: this model has %r" % (output.get("name"),
                                                                           contract["output"]["name"]))


def _images(raw, shape, max_pixels, spec, binary=None):
    """The image files of the BYTES input, from JSON base64 `raw` or its `binary` data, each checked."""
    if len(shape) != 1:
        raise HttpError(400, "input %r: shape must be [n], got %r" % (IMAGE_INPUT, shape))
    files = (v2_binary.byte_elements(binary, IMAGE_INPUT, shape[0]) if binary is not None
             else _base64_files(raw, shape[0]))
    return [check_image(file, max_pixels, spec, "input %r item %d" % (IMAGE_INPUT, i)) for i, file in enumerate(files)]


def _base64_files(raw, count):
    """The decoded files of a JSON list of `count` base64 strings, one at a time."""
    data = _ANY.decode(raw)  # base64 text: about the size of the body, once
    if not isinstance(data, list) or len(data) != count or not all(isinstance(d, str) for d in data):
        raise HttpError(400, "input %r: \"data\" must be a list of %d base64 strings" % (IMAGE_INPUT, count))
    for i, text in enumerate(data):
        try:
            yield base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise HttpError(400, "input %r: item %d is not valid base64" % (IMAGE_INPUT, i)) from None


def _tensor(name, data, shape, chw, binary=None):
    if len(shape) != 4 or shape[1:] != list(chw):
        raise HttpError(400, "input %r: shape must be [n, %d, %d, %d], got %r" % ((name,) + tuple(chw) + (shape,)))
    expected = int(np.prod(shape))
    if binary is not None:
        array = v2_binary.fp32(binary, name, shape)  # exactly `expected` values, or it refuses
    else:
        array = _numbers(name, bytes(data), expected, shape)
        if array.size != expected:
            raise HttpError(400, "input %r: %d values for shape %r (%d expected)" % (name, array.size, shape, expected))
    if not np.isfinite(array).all():
        raise HttpError(400, "input %r: values must be finite" % name)
    return array.reshape(shape)


def _numbers(name, text, expected, shape):
    """A JSON array of numbers (flat or nested; valid JSON, as msgspec checked) -> float32, after
    refusing text far longer than `expected` numbers can take. orjson parses it a slice at a time
    into the float32 array: at most CHUNK_BYTES of Python floats exist at once (NumPy's own text
    parser, np.fromstring, took 45 ms for one 1x3x224x224 tensor, orjson 22 ms), and a float32
    array gets what np.asarray of the whole list got: the same bits."""
    if len(text) > expected * MAX_CHARS_PER_VALUE + 2:
        raise HttpError(400, "input %r: %d bytes of data for shape %r (at most %d expected)"
                        % (name, len(text), shape, expected * MAX_CHARS_PER_VALUE))
    not_numbers = HttpError(400, "input %r: \"data\" must be numbers (flat or nested)" % name)
    if not text.startswith(b"["):
        raise not_numbers
    flat = text.translate(None, b"[]")
    if flat.translate(None, _NUMBER_CHARS):
        raise not_numbers
    out = np.empty(expected, np.float32)
    count, start = 0, 0
    while start < len(flat):
        end = flat.find(b",", start + CHUNK_BYTES) if start + CHUNK_BYTES < len(flat) else -1
        end = len(flat) if end < 0 else end
        piece = flat[start:end]
        start = end + 1
        if not piece.strip():
            continue
        try:
            values = orjson.loads(b"[" + piece + b"]")
        except orjson.JSONDecodeError:  # valid JSON, so a number beyond a double (1e400)
            raise HttpError(400, "input %r: values must be finite" % name) from None
        if count + len(values) > expected:
            raise HttpError(400, "input %r: more than %d values for shape %r" % (name, expected, shape))
        out[count:count + len(values)] = values
        count += len(values)
    return out[:count]
