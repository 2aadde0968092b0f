"""The model contract: what a program needs to know to feed an exported `.mge` correctly.

Written by export as a JSON sidecar next to the model (`<model>.mge.json`), read by the Python and
C++ inference programs, so neither needs extra flags. Lite cannot read free-form data back out of
a dumped `.mge`, hence the sidecar. It holds the input name and shape, the preprocessing spec, the
class names, where the weights came from, and the model file's size and sha256, so that a sidecar
that does not belong to its model is caught instead of silently misused.
"""
import hashlib
import json
import os

FORMAT = "megdeploy-contract/1"
SUFFIX = ".json"


class ContractError(ValueError):
    """A missing, unreadable or inconsistent contract, with the file named."""


def path_for(model_path):
    return model_path + SUFFIX


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def make(model_name, input_name, input_shape, output_name, num_classes, spec, labels, weights, model_path,
         lite=None):
    return {
        "format": FORMAT,
        "model": model_name,
        "input": {"name": input_name, "shape": list(input_shape), "dtype": "float32", "layout": "NCHW"},
        "output": {"name": output_name, "shape": [input_shape[0], num_classes], "meaning": "softmax probabilities"},
        "preprocess": spec,
        "labels": list(labels),
        "weights": weights,
        "lite": lite or {},
        "mge_file": {"size": os.path.getsize(model_path), "sha256": file_digest(model_path)},
    }


def write(contract, path):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(contract, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


_REQUIRED = {
    "model": str,
    "input": dict,
    "output": dict,
    "preprocess": dict,
    "labels": list,
    "weights": dict,
    "mge_file": dict,
}


def read(model_path):
    """Returns the contract of `model_path`, checked against the model file."""
    path = path_for(model_path)
    try:
        with open(path) as f:
            contract = json.load(f)
    except FileNotFoundError:
        raise ContractError(
            "%s: no model contract next to the model (export writes it; copy it with the .mge)" % path
        ) from None
    except OSError as e:
        raise ContractError("%s: cannot read model contract: %s" % (path, e.strerror or e)) from e
    except ValueError as e:
        raise ContractError("%s: model contract is not valid JSON: %s" % (path, e)) from e
    if not isinstance(contract, dict) or contract.get("format") != FORMAT:
        raise ContractError("%s: not a %s model contract" % (path, FORMAT))
    for key, kind in _REQUIRED.items():
        if not isinstance(contract.get(key), kind):
            raise ContractError("%s: model contract lacks a valid %r" % (path, key))
    try:
        size = os.path.getsize(model_path)
    except OSError as e:
        raise ContractError("%s: cannot read model: %s" % (model_path, e.strerror or e)) from e
    expected = contract["mge_file"]
    if size != expected.get("size") or file_digest(model_path) != expected.get("sha256"):
        raise ContractError(
            "%s: the model file does not match its contract %s (%d bytes, contract says %s): "
            "re-export, or copy the two files together" % (model_path, path, size, expected.get("size"))
        )
    return contract
