"""The wheel's optional extras (py/pyproject.toml) and the modules each one brings.

`pip install mgedeploy` is enough to export and classify; serving, Ray and the ONNX Runtime peer
are extras, so that an application that only classifies installs no web stack. A command that
needs an extra asks here first and says in one line what to install, instead of an ImportError.
"""
import importlib.util

# extra -> the top-level modules it installs (the names imported, not the distributions').
SERVE = ("fastapi", "uvicorn", "multipart", "prometheus_client", "orjson", "msgspec", "grpc", "google.protobuf")
MODULES = {
    "serve": SERVE,
    "ray": SERVE + ("ray",),  # the extra is mgedeploy[serve] plus Ray Serve
    "bench": ("onnx", "onnxruntime"),
}


def missing(extra):
    """The modules of `extra` that cannot be imported here ([] when it is installed)."""
    return [name for name in MODULES[extra] if not _importable(name)]


def _importable(name):
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # a dotted name whose parent is missing
        return False


def problem(extra):
    """None when `extra` is installed, else why not and what to do, e.g. "needs the 'serve' extra
    (fastapi, ... not installed): pip install 'mgedeploy[serve]'"."""
    absent = missing(extra)
    if not absent:
        return None
    return "needs the '%s' extra (%s not installed): pip install 'mgedeploy[%s]'" % (extra, ", ".join(absent), extra)
