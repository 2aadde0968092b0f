"""mgedeploy: export MegEngine classifiers to `.mge` and run them with MegEngine Lite.

The public API (see the README, "Use it from your application"):

    from mgedeploy import Classifier, export
    export(my_module, "my_model.mge", {"color": "GRAY", "resize_short": 28, "crop": 28,
                                       "mean": [127.5], "std": [127.5]}, labels=digit_names)
    classifier = Classifier("efficientnet_lite0_deploy.mge")
    print(classifier.classify(["testdata/cat.jpg"], topk=5))

Importing this package loads nothing and changes nothing in the host process: no megengine, no
stderr redirection, no signal handlers. Names are loaded on first use.
"""
__version__ = "0.5.0"

from typing import TYPE_CHECKING

__all__ = ["Classifier", "ContractError", "ExportError", "ImageError", "ModelError", "Record", "TopClass", "export",
           "__version__"]

if TYPE_CHECKING:  # what a type checker sees; at run time the names load on first use (below)
    from mgedeploy.classifier import Classifier
    from mgedeploy.contract import ContractError
    from mgedeploy.exporting.exporter import ExportError, export
    from mgedeploy.lite.runner import ModelError
    from mgedeploy.preprocess import ImageError
    from mgedeploy.records import Record, TopClass

_LAZY = {
    "Classifier": ("mgedeploy.classifier", "Classifier"),
    "ContractError": ("mgedeploy.contract", "ContractError"),
    "ExportError": ("mgedeploy.exporting.exporter", "ExportError"),
    "export": ("mgedeploy.exporting.exporter", "export"),
    "ImageError": ("mgedeploy.preprocess", "ImageError"),
    "ModelError": ("mgedeploy.lite.runner", "ModelError"),
    "Record": ("mgedeploy.records", "Record"),
    "TopClass": ("mgedeploy.records", "TopClass"),
}


def __getattr__(name: str) -> object:
    if name not in _LAZY:
        raise AttributeError("module 'mgedeploy' has no attribute %r" % name)
    import importlib

    module, attribute = _LAZY[name]
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value
