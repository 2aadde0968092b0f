"""Classifier: an exported model, loaded once, classifying images from paths, bytes or arrays.

    from mgedeploy import Classifier
    classifier = Classifier("efficientnet_lite0_deploy.mge")
    for record in classifier.classify(["testdata/cat.jpg", "testdata/coffee.jpg"], topk=3):
        print(record["image"], record["top"][0]["name"])

Each record is what `//py:inference --json` prints: {"model", "image", "top": [{"index", "name",
"probability"}, ...]}. The model's contract (`<model>.json`) must be beside it; the model is read
once, its SHA-256 checked against the contract, and Lite loads exactly those bytes: that is what
protects an application from a damaged copy
(the crash guard is for programs only: lite/crash_guard.py says why).
A Classifier is not for several threads at once: give each thread its own.
"""
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from mgedeploy import contract, model_files, packed_model, preprocess
from mgedeploy.records import Record, top_classes
from mgedeploy.lite import options as lite_options
from mgedeploy.lite import runner as lite_runner
from mgedeploy.lite.options import embedded_cache_file

ModelError = model_files.ModelError
ContractError = contract.ContractError
ImageError = preprocess.ImageError
SettingsError = lite_options.SettingsError

# An image: a path, encoded bytes (JPEG, PNG, ...), or a decoded uint8 HxWx3 BGR array.
# Tensors: float32 (a model's input, (1, C, H, W); its output, the softmax vector).
Tensor = npt.NDArray[np.float32]
Image = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, np.ndarray]


class Classifier:
    """Loads `model_path` and its contract. threads: Lite's CPU threads. lite_options: "best" (the
    settings export chose for this machine, recorded in the contract) or "default" (Lite's own).
    share_weights_with: another Classifier of the same model whose weights this one's network uses
    instead of loading its own copy (one per thread, one set of weights). model_key: the 32 bytes
    of an encrypted model's key (mgedeploy.model_encryption.read_key reads a key file).
    Raises ContractError, ModelError or SettingsError, each one line naming the file."""

    def __init__(self, model_path: Union[str, "os.PathLike[str]"], threads: int = 1, lite_options: str = "best",
                 max_pixels: int = preprocess.DEFAULT_MAX_PIXELS,
                 share_weights_with: Optional["Classifier"] = None, model_key: Optional[bytes] = None) -> None:
        self.model_path: str = os.fspath(model_path)
        # One read: the bytes hashed for the contract are the bytes Lite loads.
        model, self.contract, embedded_cache = read_model(self.model_path, model_key)
        self.labels: List[str] = self.contract["labels"]
        self.max_pixels = max_pixels
        self.note: Optional[str]
        with embedded_cache_file(embedded_cache) as cache_file:
            options, self.note = lite_options_for(self.contract, self.model_path, lite_options, cache_file)
            self.runner: lite_runner.LiteRunner = lite_runner.LiteRunner(
                model, self.contract["input"]["name"], threads=threads, options=options,
                share_weights_with=share_weights_with.runner if share_weights_with else None)

    @property
    def batch(self) -> int:
        """Images per forward pass: the exported graph's batch (export --batch)."""
        return self.contract["input"]["shape"][0]

    @property
    def random_weights(self) -> bool:
        """True for test models exported with --random_init: their classes mean nothing."""
        return not self.contract["weights"].get("meaningful", True)

    def preprocess(self, image: Image) -> Tensor:
        """A path, encoded bytes, or a decoded uint8 HxWx3 BGR array -> the model's input tensor."""
        spec = self.contract["preprocess"]
        if isinstance(image, np.ndarray):
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise ImageError("array: expected a uint8 HxWx3 BGR image, got %s %s" % (image.dtype, image.shape))
            preprocess.check_size(image.shape[1], image.shape[0], spec, self.max_pixels, "array")
            return preprocess.preprocess_bgr(image, spec)
        if isinstance(image, (bytes, bytearray, memoryview)):
            return preprocess.preprocess_bgr(preprocess.decode_bgr(bytes(image), "bytes", self.max_pixels, spec), spec)
        return preprocess.load(os.fspath(image), spec, self.max_pixels)

    def probabilities(self, image: Image) -> Tensor:
        """The model's softmax output for one image, as a float32 vector."""
        return self.run_inputs([self.preprocess(image)])[0]

    def run_inputs(self, inputs: Sequence[Tensor]) -> List[Tensor]:
        """Preprocessed inputs (each (1, C, H, W)) -> their outputs, `batch` per forward pass; a last
        partial group is padded with copies of its last input, whose outputs are dropped."""
        outputs: List[Tensor] = []
        for start in range(0, len(inputs), self.batch):
            group = list(inputs[start:start + self.batch])
            count = len(group)
            group += [group[-1]] * (self.batch - count)
            outputs += list(self.runner.run(np.concatenate(group))[:count])
        return outputs

    def classify_many(self, images: Sequence[Image], topk: int = 5) -> List[Union[Record, ImageError]]:
        """One result per image, in order, `batch` images per forward pass: the record, or the
        ImageError that image raised (the others go on)."""
        if not 1 <= topk <= len(self.labels):
            raise ValueError("topk must be 1 to %d, got %d" % (len(self.labels), topk))
        results: List[Any] = [None] * len(images)
        inputs: List[Tensor] = []
        where: List[int] = []
        for i, image in enumerate(images):
            try:
                inputs.append(self.preprocess(image))
                where.append(i)
            except ImageError as e:
                results[i] = e
        for i, probs in zip(where, self.run_inputs(inputs)):
            results[i] = {"model": self.model_path, "image": _name_of(images[i]),
                          "top": top_classes(probs, self.labels, topk)}
        return results

    def classify_one(self, image: Image, topk: int = 5) -> Record:
        """One image's record (see the module docstring)."""
        if not 1 <= topk <= len(self.labels):
            raise ValueError("topk must be 1 to %d, got %d" % (len(self.labels), topk))
        return {"model": self.model_path, "image": _name_of(image),
                "top": top_classes(self.probabilities(image), self.labels, topk)}

    def classify(self, images: Sequence[Image], topk: int = 5) -> List[Record]:
        """A list of records, one per image, in order, `batch` per forward pass. Raises the first
        bad image's ImageError; classify_many goes on past failures."""
        records: List[Record] = []
        for result in self.classify_many(images, topk):
            if isinstance(result, Exception):
                raise result
            records.append(result)
        return records


def check_model(model_path: Union[str, "os.PathLike[str]"], model_key: Optional[bytes] = None) -> Dict[str, Any]:
    """What the Classifier checks before Lite reads anything (the file, its contract, the digest;
    an encrypted model's tag under model_key), without loading Lite: raises ModelError or
    ContractError, one line naming the file."""
    return read_model(os.fspath(model_path), model_key)[1]


def read_model(model_path: str,
               model_key: Optional[bytes] = None) -> Tuple[model_files.ModelFile, Dict[str, Any], Optional[bytes]]:
    """(the graph's bytes as Lite gets them, the contract, an embedded fast-run cache): from a
    sidecar model (the .mge, its .json beside it) or a packed one (packed_model.py: one file).
    One read: the bytes hashed for the contract are the bytes Lite loads. model_key: the 32-byte key
    of an encrypted packed model (model_encryption.py); given for any other model, a ModelError."""
    model = model_files.read_model_file(model_path)
    if packed_model.is_packed(model.data):
        return packed_model.read(model, model_key)
    if model_key is not None:
        raise model_files.key_for_plain_model(model_path)
    return model, contract.read(model.path, model), None


def lite_options_for(info: Dict[str, Any], model_path: str, choice: str,
                     cache_file: Optional[str] = None) -> Tuple[lite_options.LiteOptions, Optional[str]]:
    try:
        return lite_options.options_for(info, model_path, choice, cache_file=cache_file)
    except lite_options.SettingsError as e:
        raise ContractError(str(e)) from None


def _name_of(image: Image) -> str:
    if isinstance(image, np.ndarray):
        return "array"
    if isinstance(image, (bytes, bytearray, memoryview)):
        return "bytes"
    return os.fspath(image)
