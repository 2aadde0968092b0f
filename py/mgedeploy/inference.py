"""Classifies images with an exported `.mge` model through megenginelite; prints the top classes.

Reads the model contract next to the model (`<model>.json`, written by //py:export) for the input
name, the preprocessing and the class names. Several images reuse one loaded network.

Usage:
  bazel run //py:inference -- -m efficientnet_lite0_deploy.mge            # the embedded cat photo
  bazel run //py:inference -- -m model.mge -i a.jpg -i b.png --topk 3 --json

Output, per image (the tutorial's format; with several images each block starts `image: PATH`):
  0: class = tiger_cat            with probability = 41.0 %
With --json, one line per image:
  {"model": ..., "image": ..., "top": [{"index": 282, "name": "tiger_cat", "probability": 0.41}, ...]}
"""
import json
import sys

from absl import app, flags

from mgedeploy import quiet

quiet.import_megengine()

import numpy as np  # noqa: E402

from mgedeploy import cli, contract, labels, lite_runner, paths, preprocess  # noqa: E402

MODEL = flags.DEFINE_string("model", "efficientnet_lite0_deploy.mge", "The exported .mge model.", short_name="m")
IMAGE = flags.DEFINE_multi_string(
    "image", None, "An image to classify; repeat for several (default: the embedded testdata/cat.jpg).",
    short_name="i")
TOPK = flags.DEFINE_integer("topk", 5, "How many classes to print per image (1 to the number of classes).")
THREADS = flags.DEFINE_integer("threads", 1, "CPU threads Lite may use (at least 1).")
LITE_OPTIONS = flags.DEFINE_enum(
    "lite_options", "best", lite_runner.CHOICES,
    "best: the Lite settings export measured fastest on this machine and recorded in the model contract "
    "(NCHW88 layout or fast-run kernels from <model>.fastrun, weight preprocess, recorded kernel sequence); "
    "default: Lite's own defaults.")
JSON = flags.DEFINE_bool("json", False, "Print one JSON object per image instead of the tutorial's lines.")


def top_classes(probs, names, k):
    order = np.argsort(-probs, kind="stable")[:k]
    return [{"index": int(i), "name": names[i], "probability": float(probs[i])} for i in order]


def main(argv):
    try:
        return classify(argv)
    except cli.UsageError as e:
        quiet.drop_native_output()
        return cli.report_usage_error("inference", e)


def classify(argv):
    if len(argv) > 1:
        raise cli.UsageError("unexpected arguments: %s (images go after -i)" % " ".join(argv[1:]))
    cli.positive("--topk", TOPK.value)
    cli.positive("--threads", THREADS.value)
    model_path = paths.user_path(MODEL.value)
    images = [paths.user_path(p) for p in IMAGE.value] if IMAGE.value else [paths.DEFAULT_IMAGE]
    try:
        lite_runner.check_model_file(model_path)
        info = contract.read(model_path)
        names = info["labels"]
        if TOPK.value > len(names):
            raise cli.UsageError("--topk %d is more than the model's %d classes" % (TOPK.value, len(names)))
        options, note = lite_runner.options_for(info, model_path, LITE_OPTIONS.value)
        classifier = lite_runner.LiteClassifier(model_path, info["input"]["name"], threads=THREADS.value,
                                                options=options)
    except (contract.ContractError, lite_runner.ModelError) as e:
        print("inference: %s" % e, file=sys.stderr)
        quiet.drop_native_output()
        return 1

    # Only once the model loaded: a failure stays a single line.
    if note:
        print("note: " + note, file=sys.stderr)
    if not info["weights"].get("meaningful", True):
        print("WARNING: %s has random weights (tests and benchmarks only): its classes mean nothing."
              % paths.shown(model_path), file=sys.stderr)
    failures = 0
    for image in images:
        try:
            probs = classifier.run(preprocess.load(image, info["preprocess"]))[0]
        except (preprocess.ImageError, lite_runner.ModelError) as e:
            print("inference: %s" % e, file=sys.stderr)
            quiet.drop_native_output()
            failures += 1
            continue
        top = top_classes(probs, names, TOPK.value)
        if JSON.value:
            print(json.dumps({"model": paths.shown(model_path), "image": paths.shown(image), "top": top}))
            continue
        if len(images) > 1:
            print("image: %s" % paths.shown(image))
        for rank, entry in enumerate(top):
            print(labels.format_line(rank, entry["name"], entry["probability"]))
    return 1 if failures else 0


if __name__ == "__main__":
    app.run(main, flags_parser=cli.flags_parser("inference"))
