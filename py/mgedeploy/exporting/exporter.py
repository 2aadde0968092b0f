"""Exports an eager MegEngine classifier to a `.mge` graph that Lite runs, with its contract.

Runs the model once on a sample image, traces `softmax(model(data))` (tracing.py), dumps it, loads
the dump with megenginelite and checks it against the eager model (max abs difference at most
LITE_TOLERANCE, else nothing is written), chooses the Lite settings for this machine
(lite/tuning.py), then writes, each to a temp name renamed at the end, so a failed export leaves
nothing behind: the model, `<output>.json` (the contract) and, when the settings use fast-run,
`<output>.fastrun` -- or, with pack=True, one file in Lite's packed format holding all three
(packed_model.py).
"""
import os
import time
from typing import Any, Callable, Dict, Optional, Sequence, Union

import megengine
import megengine.functional as F
import numpy as np

from mgedeploy import contract, labels, packed_model, preprocess
from mgedeploy.exporting import tracing
from mgedeploy.lite import options as lite_options
from mgedeploy.lite import runner as lite_runner
from mgedeploy.lite import tuning

INPUT_NAME = tracing.INPUT_NAME
LITE_TOLERANCE = 1e-4  # Lite fuses and reorders float32 ops; more than this means a wrong graph.


class ExportError(RuntimeError):
    """The model cannot be exported or written; the message names the file."""


def check_writable(output):
    """Fails before the slow work if the model cannot be written where asked."""
    directory = os.path.dirname(output) or "."
    if not os.path.isdir(directory):
        raise ExportError("%s: cannot write the model: directory %s does not exist" % (output, directory))
    probe = output + ".tmp"
    try:
        open(probe, "wb").close()
        os.remove(probe)
    except OSError as e:
        raise ExportError("%s: cannot write the model: %s" % (output, e.strerror or e)) from e


def eager_output(model, sample, name):
    """softmax(model(sample)) as NumPy, after checking the model runs on the sample's shape and
    answers [N, classes]."""
    try:
        logits = model(megengine.tensor(sample))
    except Exception as e:  # a shape mismatch surfaces as whatever the failing operator raises
        reason = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ExportError("%s: the model does not run on input shape %s: %s" % (
            name, "x".join(map(str, sample.shape)), reason[:300])) from e
    if not isinstance(logits, megengine.Tensor) or logits.ndim != 2 or logits.shape[0] != sample.shape[0]:
        shape = tuple(logits.shape) if hasattr(logits, "shape") else type(logits).__name__
        raise ExportError("%s: the model's output is %s, expected [N, classes]" % (name, shape))
    return F.softmax(logits).numpy()


def input_shape_for(spec):
    """The input a preprocessing spec produces: (1, 1 for GRAY else 3, crop, crop); a crop that is
    not a positive integer gives 1 here and is reported by check_preprocess."""
    crop = spec.get("crop") if isinstance(spec.get("crop"), int) and spec.get("crop") > 0 else 1
    return (1, 1 if spec.get("color") == "GRAY" else 3, crop, crop)


def check_preprocess(spec, input_shape, where):
    """The spec against the contract's rules (contract.validate: the one validator), for a model
    taking `input_shape`; errors name `where` (the preprocessing file). The class count plays no
    part in those rules: one stands in for it."""
    probe = {"format": contract.FORMAT, "model": "m", "input": {"name": "data", "shape": list(input_shape)},
             "output": {"shape": [input_shape[0], 1]}, "preprocess": spec,
             "labels": ["x"], "weights": {}, "mge_file": {"size": 0, "sha256": "0" * 64}}
    try:
        contract.validate(probe, where)
    except contract.ContractError as e:
        raise ExportError(str(e)) from None


def class_count(model, spec, name):
    """How many classes the model answers, from one run on a black image of the spec's input."""
    _, _, height, width = input_shape_for(spec)
    probe = preprocess.preprocess_bgr(np.zeros((height, width, 3), np.uint8), spec)
    return eager_output(model, probe, name).shape[1]


def export(module: Any, output: str, preprocess_spec: Dict[str, Any], labels: Optional[Sequence[str]] = None,
           sample_image: Union[str, np.ndarray, None] = None, name: Optional[str] = None,
           lite_settings: str = "auto", say: Callable[[str], Any] = print, pack: bool = False) -> Dict[str, Any]:
    """The Python API's export: `module` (a megengine Module with its weights) to `output`, with its
    contract. preprocess_spec: the contract's preprocess keys (color RGB/BGR/GRAY, resize_short,
    crop, mean, std); the input shape follows from it: (1, 1 for GRAY else 3, crop, crop).
    labels: class names (default "0", "1", ...). sample_image: a path or a uint8 BGR array for the
    check run (default: seeded random pixels). pack: one file, Lite's packed model with the contract
    (and fast-run cache) inside, instead of the sidecars. Returns the contract; raises ExportError."""
    name = name or os.path.splitext(os.path.basename(output))[0]
    shape = input_shape_for(preprocess_spec)
    check_preprocess(preprocess_spec, shape, "preprocess")
    random_sample = sample_image is None
    if random_sample:
        sample_image = np.random.default_rng(0).integers(0, 256, (shape[2], shape[3], 3), dtype=np.uint8)
    module.eval()
    if labels is None:
        labels = [str(i) for i in range(class_count(module, preprocess_spec, name))]
    return export_model(module, output, name, preprocess_spec, list(labels), {"source": "python", "meaningful": True},
                        sample_image, lite_settings=lite_settings, say=say,
                        sample_name="random pixels" if random_sample else None, pack=pack)


def export_model(model, output, name, spec, class_names, weights_record, sample_image, lite_settings="auto",
                 say=print, shown=str, batch=1, sample_name=None, pack=False, key=None):
    """Exports `model` (an eval-mode megengine Module with its weights) to `output`.

    spec: the preprocessing (preprocess.SPECS entry); class_names: one per output; weights_record:
    the contract's "weights" section; sample_image: a path or a uint8 BGR array; lite_settings:
    tuning.MODES ("auto" times the candidates). batch: the images per forward pass the dumped graph
    takes (Lite fixes the input shape at load when it records the kernel sequence).
    say: where progress lines go; shown: how paths are shown in them; sample_name: what the
    progress lines call an array sample (default: "the sample array (WxH)"). pack: write one packed
    file (the graph, the contract, the fast-run cache) instead of the model and its sidecars. key:
    with pack, the 32-byte key to encrypt the graph and the contract with (model_encryption.py)."""
    check_writable(output)
    if isinstance(sample_image, np.ndarray):
        sample = preprocess.preprocess_bgr(sample_image, spec)
        sample_image = sample_name or "the sample array (%dx%d)" % (sample_image.shape[1], sample_image.shape[0])
    else:
        sample = preprocess.load(sample_image, spec)
    sample = np.ascontiguousarray(np.repeat(sample, batch, axis=0))
    eager = eager_output(model, sample, name)
    if eager.shape[1] != len(class_names):
        raise ExportError("%s: the model has %d classes but there are %d class names" % (
            name, eager.shape[1], len(class_names)))
    say("Eager MegEngine on %s:" % shown(sample_image))
    for rank, index in enumerate(np.argsort(-eager[0])[:5]):
        say("  " + labels.format_line(rank, class_names[index], float(eager[0, index])))

    tmp = output + ".tmp"
    cache = output + lite_options.FAST_RUN_CACHE_SUFFIX
    try:
        start = time.perf_counter()
        try:
            tracing.dump(model, sample, tmp)
        except OSError as e:
            raise ExportError("%s: cannot write the model: %s" % (output, e.strerror or e)) from e
        say("Traced and dumped in %.1f s (%.1f MB)" % (time.perf_counter() - start, os.path.getsize(tmp) / 1e6))

        runner = lite_runner.LiteRunner(tmp, INPUT_NAME)
        lite = runner.run(sample)
        diff = float(np.max(np.abs(lite - eager)))
        say("Lite vs eager on the sample: max abs difference %.3g (limit %g)" % (diff, LITE_TOLERANCE))
        if not diff <= LITE_TOLERANCE:
            raise ExportError("%s: Lite's output differs from the eager model by %.3g > %g; nothing written"
                              % (output, diff, LITE_TOLERANCE))

        settings = tuning.choose(tmp, INPUT_NAME, sample, eager, LITE_TOLERANCE, cache, mode=lite_settings, say=say)
        info = contract.make(name, INPUT_NAME, sample.shape, runner.output_name, eager.shape[1], spec, class_names,
                             weights_record, tmp, settings)
        contract.validate(info, contract.path_for(output))
        if pack:
            write_packed(tmp, info, cache + ".tmp", output, key)
        else:
            contract.write(info, contract.path_for(output))
            if os.path.exists(cache + ".tmp"):
                os.replace(cache + ".tmp", cache)
            elif os.path.exists(cache):
                os.remove(cache)  # an earlier export's cache, which this contract does not name
            os.replace(tmp, output)
    finally:
        for leftover in (tmp, cache + ".tmp", output + ".packing"):
            if os.path.exists(leftover):
                os.remove(leftover)
    if pack:
        say("Wrote %s (packed%s: the graph, its contract%s in one file)"
            % (shown(output), ", encrypted" if key is not None else "",
               " and fast-run cache" if info.get("lite", {}).get("fast_run_cache") else ""))
    else:
        say("Wrote %s and its contract %s" % (shown(output), shown(contract.path_for(output))))
    return info


def write_packed(graph_path, info, cache_path, output, key=None):
    """The packed file from the dumped graph, the contract and the fast-run cache (if one was
    chosen), renamed into place at the end; an earlier export's sidecars beside it are removed (a
    packed model does not read them, and they would say something else)."""
    import megenginelite

    with open(graph_path, "rb") as f:
        graph = f.read()
    cache = None
    if os.path.exists(cache_path):
        with open(cache_path, "rb") as f:
            cache = f.read()
    data = packed_model.pack(graph, info, cache, lite_version=megenginelite.__version__, key=key)
    try:
        with open(output + ".packing", "wb") as f:
            f.write(data)
    except OSError as e:
        raise ExportError("%s: cannot write the model: %s" % (output, e.strerror or e)) from e
    for stale in (contract.path_for(output), output + lite_options.FAST_RUN_CACHE_SUFFIX):
        if os.path.exists(stale):
            os.remove(stale)
    os.replace(output + ".packing", output)
