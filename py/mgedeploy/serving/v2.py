"""The Open Inference Protocol (KServe V2) REST shapes: model metadata, and infer requests turned
into what a worker runs (images or a float32 tensor), with a 400 for anything malformed.

Two inputs per model: the graph's own (FP32, [n, C, H, W]) and "image" (BYTES, [n]: base64
encoded JPEG/PNG/BMP/WebP files the server preprocesses as the model contract says). One output:
the model's (FP32, [n, classes]).
"""
import base64
import binascii

import numpy as np
import orjson

from mgedeploy.serving.uploads import HttpError, check_image

IMAGE_INPUT = "image"
VERSION = "1"


def metadata(name, contract):
    _, channels, height, width = contract["input"]["shape"]
    classes = contract["output"]["shape"][1]
    return {
        "name": name,
        "versions": [VERSION],
        "platform": "megengine_lite",
        "inputs": [
            {"name": contract["input"]["name"], "datatype": "FP32", "shape": [-1, channels, height, width]},
            {"name": IMAGE_INPUT, "datatype": "BYTES", "shape": [-1],
             "parameters": {"content": "base64 JPEG, PNG, BMP or WebP; preprocessed by the server"}},
        ],
        "outputs": [{"name": contract["output"]["name"], "datatype": "FP32", "shape": [-1, classes]}],
    }


def parse_infer_body(body, contract, max_inputs, max_pixels):
    """The raw JSON body -> (the decoded request, kind, value) as parse_infer."""
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise HttpError(400, "the body is not JSON: %s" % e) from None
    return (request,) + parse_infer(request, contract, max_inputs, max_pixels)


def parse_infer(request, contract, max_inputs, max_pixels):
    """A decoded JSON infer request -> ("images", [bytes, ...]) or ("tensor", float32 (n, C, H, W))."""
    if not isinstance(request, dict):
        raise HttpError(400, "the request must be a JSON object with \"inputs\"")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != 1 or not isinstance(inputs[0], dict):
        raise HttpError(400, "\"inputs\" must be a list of one input (%r or %r)"
                        % (contract["input"]["name"], IMAGE_INPUT))
    _check_outputs(request.get("outputs"), contract)
    tensor = inputs[0]
    name, shape, datatype = tensor.get("name"), tensor.get("shape"), tensor.get("datatype")
    if "data" not in tensor:
        raise HttpError(400, "input %r has no \"data\"" % name)
    if not isinstance(shape, list) or not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        raise HttpError(400, "input %r: \"shape\" must be a list of positive integers, got %r" % (name, shape))
    if shape[0] > max_inputs:
        raise HttpError(413, "input %r: %d items in one request; the limit is %d (--max_batch_inputs)"
                        % (name, shape[0], max_inputs))
    if name == IMAGE_INPUT:
        if datatype != "BYTES":
            raise HttpError(400, "input %r: datatype must be BYTES, got %r" % (name, datatype))
        return "images", _images(tensor["data"], shape, max_pixels)
    if name == contract["input"]["name"]:
        if datatype != "FP32":
            raise HttpError(400, "input %r: datatype must be FP32, got %r" % (name, datatype))
        return "tensor", _tensor(name, tensor["data"], shape, contract["input"]["shape"][1:])
    raise HttpError(400, "unknown input %r: this model takes %r (FP32) or %r (BYTES)"
                    % (name, contract["input"]["name"], IMAGE_INPUT))


def response(name, request, contract, outputs):
    """The infer response as JSON bytes (orjson writes the float32 array directly)."""
    probabilities = np.stack(outputs)
    answer = {"model_name": name, "model_version": VERSION,
              "outputs": [{"name": contract["output"]["name"], "datatype": "FP32",
                           "shape": list(probabilities.shape), "data": probabilities.ravel()}]}
    if isinstance(request.get("id"), str):
        answer["id"] = request["id"]
    return orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY)


def _check_outputs(wanted, contract):
    if wanted is None:
        return
    if not isinstance(wanted, list) or not all(isinstance(o, dict) for o in wanted):
        raise HttpError(400, "\"outputs\" must be a list of objects with a \"name\"")
    for output in wanted:
        if output.get("name") != contract["output"]["name"]:
            raise HttpError(400, "unknown output %r: this model has %r" % (output.get("name"),
                                                                           contract["output"]["name"]))


def _images(data, shape, max_pixels):
    if len(shape) != 1:
        raise HttpError(400, "input %r: shape must be [n], got %r" % (IMAGE_INPUT, shape))
    if not isinstance(data, list) or len(data) != shape[0] or not all(isinstance(d, str) for d in data):
        raise HttpError(400, "input %r: \"data\" must be a list of %d base64 strings" % (IMAGE_INPUT, shape[0]))
    images = []
    for i, text in enumerate(data):
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise HttpError(400, "input %r: item %d is not valid base64" % (IMAGE_INPUT, i)) from None
        images.append(check_image(raw, max_pixels, "input %r item %d" % (IMAGE_INPUT, i)))
    return images


def _tensor(name, data, shape, chw):
    if len(shape) != 4 or shape[1:] != list(chw):
        raise HttpError(400, "input %r: shape must be [n, %d, %d, %d], got %r" % ((name,) + tuple(chw) + (shape,)))
    try:
        array = np.asarray(data, dtype=np.float32)
    except (TypeError, ValueError):
        raise HttpError(400, "input %r: \"data\" must be numbers (flat or nested)" % name) from None
    if array.size != int(np.prod(shape)):
        raise HttpError(400, "input %r: %d values for shape %r (%d expected)"
                        % (name, array.size, shape, int(np.prod(shape))))
    if not np.isfinite(array).all():
        raise HttpError(400, "input %r: values must be finite" % name)
    return array.reshape(shape)
