"""Exports an eager MegEngine classifier to a `.mge` graph that Lite runs, with its contract.

Runs the model once on a sample image, traces `softmax(model(data))` (tracing.py), dumps it, loads
the dump with megenginelite and checks it against the eager model (max abs difference at most
LITE_TOLERANCE, else nothing is written), chooses the Lite settings for this machine
(lite/tuning.py), then writes, each to a temp name renamed at the end, so a failed export leaves
nothing behind: the model, `<output>.json` (the contract) and, when the settings use fast-run,
`<output>.fastrun`.
"""
import os
import time

import megengine
import megengine.functional as F
import numpy as np

from mgedeploy import contract, labels, preprocess
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


def export_model(model, output, name, spec, class_names, weights_record, sample_image, lite_settings="auto",
                 say=print, shown=str):
    """Exports `model` (an eval-mode megengine Module with its weights) to `output`.

    spec: the preprocessing (preprocess.SPECS entry); class_names: one per output; weights_record:
    the contract's "weights" section; lite_settings: tuning.MODES ("auto" times the candidates).
    say: where progress lines go; shown: how paths are shown in them."""
    check_writable(output)
    sample = preprocess.load(sample_image, spec)
    eager = F.softmax(model(megengine.tensor(sample))).numpy()
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
        contract.write(info, contract.path_for(output))
        if os.path.exists(cache + ".tmp"):
            os.replace(cache + ".tmp", cache)
        elif os.path.exists(cache):
            os.remove(cache)  # an earlier export's cache, which this contract does not name
        os.replace(tmp, output)
    finally:
        for leftover in (tmp, cache + ".tmp"):
            if os.path.exists(leftover):
                os.remove(leftover)
    say("Wrote %s and its contract %s" % (shown(output), shown(contract.path_for(output))))
    return info
