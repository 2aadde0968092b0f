"""A user's own model: `FILE.py:FUNCTION`, a Python file anywhere on disk and a function in it that
returns a megengine.module.Module with its weights loaded; and the files that describe it (one
class name per line; a preprocessing JSON with the contract's `preprocess` keys).

Every failure is an ExportError naming the file and what is wrong, for export's one-line errors.
"""
import hashlib
import importlib.util
import json
import os
import sys

from mgedeploy import contract
from mgedeploy.exporting.exporter import ExportError

MAX_TEXT_BYTES = 16 << 20  # a labels or preprocessing file is small; refuse what cannot be one


def is_function_spec(text):
    """`FILE.py:FUNCTION` (a user's model) rather than a built-in model name."""
    path, sep, function = text.rpartition(":")
    return bool(sep) and path.endswith(".py") and bool(function)


def split_spec(text):
    path, _, function = text.rpartition(":")
    return path, function


def load_module(path, function):
    """Imports `path` and returns `function()`'s module, in eval mode."""
    import megengine.module as M

    if not os.path.isfile(path):
        raise ExportError("%s: cannot import the model file: %s" % (
            path, "is a directory" if os.path.isdir(path) else "no such file"))
    # A name of its own per file, so two models named model.py do not replace each other.
    name = "mgedeploy_user_model_" + hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))  # so the file can import its neighbours
    try:
        spec.loader.exec_module(module)
    except Exception as e:  # a syntax error, a missing import, anything the file raises
        raise ExportError("%s: cannot import the model file: %s: %s" % (path, type(e).__name__, _first_line(e))) from e
    finally:
        sys.path.pop(0)
    build = getattr(module, function, None)
    if build is None:
        raise ExportError("%s: has no function %s" % (path, function))
    if not callable(build):
        raise ExportError("%s: %s is a %s, not a function" % (path, function, type(build).__name__))
    try:
        model = build()
    except Exception as e:
        raise ExportError("%s: %s() failed: %s: %s" % (path, function, type(e).__name__, _first_line(e))) from e
    if not isinstance(model, M.Module):
        raise ExportError("%s: %s() returned a %s, not a megengine.module.Module" % (
            path, function, type(model).__name__))
    model.eval()
    return model


def read_labels(path):
    """One class name per line (surrounding blanks and trailing empty lines dropped)."""
    names = [line.strip() for line in _read_text(path, "labels").splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise ExportError("%s: the labels file has no class names" % path)
    if not all(names):
        raise ExportError("%s: line %d is empty: one class name per line" % (path, names.index("") + 1))
    return names


def read_preprocess(path):
    """The preprocessing spec: a JSON object with the contract's `preprocess` keys (checked later,
    against the input shape, by check_preprocess)."""
    try:
        spec = json.loads(_read_text(path, "preprocessing"))
    except ValueError:
        raise ExportError("%s: the preprocessing file is not valid JSON" % path) from None
    if not isinstance(spec, dict):
        raise ExportError("%s: the preprocessing file must hold a JSON object" % path)
    return spec


def _read_text(path, what):
    try:
        size = os.path.getsize(path)
        if size > MAX_TEXT_BYTES:
            raise ExportError("%s: the %s file is too big (%d bytes)" % (path, what, size))
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError:
        raise ExportError("%s: the %s file is not UTF-8 text" % (path, what)) from None
    except OSError as e:
        raise ExportError("%s: cannot read the %s file: %s" % (path, what, e.strerror or e)) from None


def _first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"
