"""Classifies images with an exported `.mge` model through megenginelite; prints the top classes.

Reads the model contract next to the model (`<model>.json`, written by //py:export) for the input
name, the preprocessing and the class names. Several images reuse one loaded network; a folder
stands for its image files at any depth, in sorted order.

Usage (from the wheel: `mgedeploy classify`, with the same flags):
  bazel run //py:inference -- -m efficientnet_lite0_deploy.mge            # the embedded cat photo
  bazel run //py:inference -- -m model.mge -i a.jpg -i b.png --topk 3 --json
  bazel run //py:inference -- -m model.mge -i photos/ --json > results.jsonl

Output, per image (the tutorial's format; with several images each block starts `image: PATH`):
  0: class = tiger_cat            with probability = 41.0 %
With --json, one line per image:
  {"model": ..., "image": ..., "top": [{"index": 282, "name": "tiger_cat", "probability": 0.41}, ...]}
and for an image that fails, {"image": ..., "error": ...} in its place (exit status 1 at the end).
"""
import json
import sys

from mgedeploy.cli import program

program.prepare(__name__, megengine=False)  # megenginelite loads with the model

from absl import flags  # noqa: E402

from mgedeploy import classifier as classifier_lib  # noqa: E402
from mgedeploy import image_files, labels, model_encryption, preprocess  # noqa: E402
from mgedeploy.cli import model_key_flag, paths, progress, usage  # noqa: E402
from mgedeploy.lite import options as lite_options  # noqa: E402

MODEL = flags.DEFINE_string("model", "efficientnet_lite0_deploy.mge", "The exported .mge model.", short_name="m")
IMAGE = flags.DEFINE_multi_string(
    "image", None, "An image, or a folder of images (recursively, sorted), to classify; repeat for several "
    "(default: the embedded testdata/cat.jpg).",
    short_name="i")
TOPK = flags.DEFINE_integer("topk", 5, "How many classes to print per image (1 to the number of classes).")
THREADS = flags.DEFINE_integer("threads", 1, "CPU threads Lite may use (at least 1).")
LITE_OPTIONS = flags.DEFINE_enum(
    "lite_options", "best", lite_options.CHOICES,
    "best: the Lite settings export measured fastest on this machine and recorded in the model contract "
    "(NCHW88 layout or fast-run kernels from <model>.fastrun, weight preprocess, recorded kernel sequence); "
    "default: Lite's own defaults.")
MAX_PIXELS = flags.DEFINE_integer(
    "max_pixels", preprocess.DEFAULT_MAX_PIXELS,
    "Refuse images whose header promises more pixels than this (checked before decoding).")
JSON = flags.DEFINE_bool("json", False, "Print one JSON object per image instead of the tutorial's lines.")

# The shared flags are this program's too: listed by --help, not only --helpfull.
flags.adopt_module_key_flags(model_key_flag)

NAME = "inference"


def main(argv):
    if len(argv) > 1:
        raise usage.UsageError("unexpected arguments: %s (images go after -i)" % " ".join(argv[1:]))
    usage.positive("--topk", TOPK.value)
    usage.positive("--threads", THREADS.value)
    usage.positive("--max_pixels", MAX_PIXELS.value)
    model_path = paths.user_path(MODEL.value)
    images, empty_folders = [], []
    for path in map(paths.user_path, IMAGE.value or [paths.DEFAULT_IMAGE]):
        found = image_files.expand(path)
        images += found or [path]
        if not found:
            empty_folders.append(path)
    try:
        key = model_key_flag.key()
        classifier = classifier_lib.Classifier(model_path, threads=THREADS.value, lite_options=LITE_OPTIONS.value,
                                               max_pixels=MAX_PIXELS.value, model_key=key)
    except (classifier_lib.ContractError, classifier_lib.ModelError, model_encryption.KeyFileError) as e:
        return program.fail(NAME, e)
    if TOPK.value > len(classifier.labels):
        raise usage.UsageError("--topk %d is more than the model's %d classes" % (TOPK.value, len(classifier.labels)))

    # Only once the model loaded: a failure stays a single line.
    if classifier.note:
        print("note: " + classifier.note, file=sys.stderr)
    if classifier.random_weights:
        print("WARNING: %s has random weights (tests and benchmarks only): its classes mean nothing."
              % paths.shown(model_path), file=sys.stderr)
    failures = 0
    bar = progress.bar(len(images), "images")
    # Groups of a few forward passes: each group's results print before the next is read, so a
    # long run streams and memory stays bounded.
    group_size = classifier.batch * 4
    for start in range(0, len(images), group_size):
        group = images[start:start + group_size]
        readable = [image for image in group if image not in empty_folders]
        try:
            found = dict(zip(readable, classifier.classify_many(readable, TOPK.value)))
        except classifier_lib.ModelError as e:
            found = {image: e for image in readable}
        for image in group:
            bar.update(1)
            result = found.get(image) or classifier_lib.ImageError("%s: %s" % (image, image_files.NO_IMAGES))
            if isinstance(result, Exception):
                failures += 1
                if JSON.value:  # the failure takes the image's place in the stream
                    print(json.dumps({"image": paths.shown(image), "error": str(result)}), flush=True)
                    program.quiet.drop_native_output()
                else:
                    program.fail(NAME, result)
                continue
            top = result["top"]
            if JSON.value:
                print(json.dumps({"model": paths.shown(model_path), "image": paths.shown(image), "top": top}))
                continue
            if len(images) > 1:
                print("image: %s" % paths.shown(image))
            for rank, entry in enumerate(top):
                print(labels.format_line(rank, entry["name"], entry["probability"]))
    bar.close()
    return 1 if failures else 0


if __name__ == "__main__":
    program.run(main, NAME)
