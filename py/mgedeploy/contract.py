"""The model contract: what a program needs to know to feed an exported `.mge` correctly.

Written by export as a JSON sidecar next to the model (`<model>.mge.json`), read by the Python and
C++ inference programs, so neither needs extra flags. Lite cannot read free-form data back out of
a dumped `.mge`, hence the sidecar. It holds the input name and shape, the preprocessing spec, the
class names, where the weights came from, the Lite settings export chose, and the model file's size
and sha256, so that a sidecar that does not belong to its model is caught instead of silently
misused.

validate() is the one Python validator; cc/contract.cc's ValidateContract is its twin, with the
same rules and the same words, and //tests:contract_conformance_test feeds both the cases in
testdata/contracts/cases.json.
"""
import hashlib
import json
import os
import re

FORMAT = "megdeploy-contract/1"
SUFFIX = ".json"
COLORS = ("RGB", "BGR", "GRAY")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
# A contract is small (1000 labels are ~16 KB): refuse a file that cannot be one before reading it.
MAX_CONTRACT_BYTES = 16 << 20


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


# ---- validation: the rules, in the order both languages check them ----

class _Invalid(Exception):
    pass


def _fail(field, detail):
    raise _Invalid("invalid field %s: %s" % (field, detail))


def _get(obj, key, prefix):
    if key not in obj:
        _fail(prefix + key, "missing")
    return obj[key]


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return (_is_int(value) or isinstance(value, float)) and not isinstance(value, bool)


def _object(obj, key, prefix=""):
    value = _get(obj, key, prefix)
    if not isinstance(value, dict):
        _fail(prefix + key, "expected an object")
    return value


def _string(obj, key, prefix=""):
    value = _get(obj, key, prefix)
    if not isinstance(value, str) or not value:
        _fail(prefix + key, "expected a non-empty string")
    return value


def _positive_ints(obj, key, count, prefix=""):
    value = _get(obj, key, prefix)
    if not isinstance(value, list) or len(value) != count or not all(_is_int(v) and v > 0 for v in value):
        _fail(prefix + key, "expected %d positive integers" % count)
    return value


def _positive_int(obj, key, prefix=""):
    value = _get(obj, key, prefix)
    if not _is_int(value) or value <= 0 or value > 1 << 30:  # the bound keeps C++'s int exact
        _fail(prefix + key, "expected a positive integer")
    return value


def _numbers(obj, key, count, prefix="", positive=False):
    value = _get(obj, key, prefix)
    if (not isinstance(value, list) or len(value) != count
            or not all(_is_number(v) and (v > 0 or not positive) for v in value)):
        _fail(prefix + key, "expected %d %snumber%s" % (count, "positive " if positive else "", "s" * (count != 1)))
    return value


def _flag(obj, key, prefix):
    if key in obj and not isinstance(obj[key], bool):
        _fail(prefix + key, "expected true or false")


def _check(info):
    if not isinstance(info, dict) or info.get("format") != FORMAT:
        raise _Invalid("not a %s model contract" % FORMAT)
    _string(info, "model")
    inputs = _object(info, "input")
    _string(inputs, "name", "input.")
    shape = _positive_ints(inputs, "shape", 4, "input.")
    if shape[1] not in (1, 3):
        _fail("input.shape", "expected 1 or 3 channels (NCHW)")
    output = _object(info, "output")
    out_shape = _positive_ints(output, "shape", 2, "output.")
    if out_shape[0] != shape[0]:
        _fail("output.shape", "the batch must be input.shape's")
    spec = _object(info, "preprocess")
    color = _get(spec, "color", "preprocess.")
    if color not in COLORS:
        _fail("preprocess.color", "expected one of %s" % ", ".join(COLORS))
    if (color == "GRAY") != (shape[1] == 1):
        _fail("preprocess.color", "GRAY needs 1 input channel, RGB and BGR need 3")
    resize = _positive_int(spec, "resize_short", "preprocess.")
    crop = _positive_int(spec, "crop", "preprocess.")
    if crop > resize:
        _fail("preprocess.crop", "must not exceed preprocess.resize_short")
    if shape[2] != crop or shape[3] != crop:
        _fail("input.shape", "height and width must equal preprocess.crop")
    _numbers(spec, "mean", shape[1], "preprocess.")
    _numbers(spec, "std", shape[1], "preprocess.", positive=True)
    labels = _get(info, "labels", "")
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        _fail("labels", "expected a list of strings")
    if len(labels) != out_shape[1]:
        _fail("labels", "%d names for %d classes in output.shape" % (len(labels), out_shape[1]))
    _object(info, "weights")
    if "lite" in info:
        lite = _object(info, "lite")
        _flag(lite, "weight_preprocess", "lite.")
        _flag(lite, "nchw88", "lite.")
        if "record_level" in lite and (not _is_int(lite["record_level"]) or lite["record_level"] not in (0, 1, 2)):
            _fail("lite.record_level", "expected 0, 1 or 2")
        if "fast_run_cache" in lite:
            cache = lite["fast_run_cache"]
            if not isinstance(cache, str) or not cache or "/" in cache or cache in (".", ".."):
                _fail("lite.fast_run_cache", "expected a file name beside the model")
            digest = lite.get("fast_run_cache_sha256")
            if not isinstance(digest, str) or not _SHA256.match(digest):
                _fail("lite.fast_run_cache_sha256", "expected a SHA-256 in hex")
        if "cpu" in lite:
            cpu = _object(lite, "cpu", "lite.")
            for key in ("model_name", "flags"):
                if not isinstance(cpu.get(key), str):
                    _fail("lite.cpu." + key, "expected a string")
    mge = _object(info, "mge_file")
    size = _get(mge, "size", "mge_file.")
    if not _is_int(size) or size < 0:
        _fail("mge_file.size", "expected a size in bytes")
    digest = _get(mge, "sha256", "mge_file.")
    if not isinstance(digest, str) or not _SHA256.match(digest):
        _fail("mge_file.sha256", "expected a SHA-256 in hex")


def validate(info, path):
    """Raises ContractError("<path>: <reason>") if `info` (parsed JSON) is not a valid contract."""
    try:
        _check(info)
    except _Invalid as e:
        raise ContractError("%s: %s" % (path, e)) from None
    return info


def load(path):
    """Reads and validates a contract file (not yet checked against its model)."""
    try:
        size = os.path.getsize(path)
        if size > MAX_CONTRACT_BYTES:
            raise ContractError("%s: model contract is too big (%d bytes)" % (path, size))
        with open(path, "rb") as f:
            text = f.read()
    except FileNotFoundError:
        raise ContractError(
            "%s: no model contract next to the model (export writes it; copy it with the .mge)" % path
        ) from None
    except OSError as e:
        raise ContractError("%s: cannot read model contract: %s" % (path, e.strerror or e)) from e
    try:
        info = json.loads(text)
    except ValueError:
        raise ContractError("%s: model contract is not valid JSON" % path) from None
    return validate(info, path)


def read(model_path, model=None):
    """Returns the contract of `model_path`, validated and checked against the model: the bytes
    already read (`model`, a model_files.ModelFile: no second read), else the file."""
    path = path_for(model_path)
    info = load(path)
    if model is not None:
        size, digest = len(model.data), model.sha256
    else:
        try:
            size = os.path.getsize(model_path)
            digest = file_digest(model_path)
        except OSError as e:
            raise ContractError("%s: cannot read model: %s" % (model_path, e.strerror or e)) from e
    expected = info["mge_file"]
    if size != expected["size"] or digest != expected["sha256"]:
        why = ("%d bytes, contract says %d" % (size, expected["size"]) if size != expected["size"]
               else "same size, but its SHA-256 differs")
        raise ContractError("%s: the model file does not match its contract %s (%s): re-export, or copy the two "
                            "files together" % (model_path, path, why))
    return info
