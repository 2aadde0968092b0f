"""Your own model, through the whole path: a model defined in a file outside the repository (a
28x28 grayscale digit classifier with 10 classes, and a 48x48 colour one with 5) is exported by
//py:export --model FILE.py:FUNCTION with its labels and preprocessing, then classified by
//py:inference and //cc:inference: identical records, and Lite's output equal to the eager model's
within 1e-5 (the same float32 kernels, only reordered by Lite's graph optimisations)."""
import json
import os

import cv2
import numpy as np
import pytest

from mgedeploy import contract, preprocess
from tests import own_models, testing
from tests.testing import BAD, CAT, COFFEE

TOLERANCE = 1e-5
IMAGES = [CAT, COFFEE, os.path.join(BAD, "gray.png"), os.path.join(BAD, "strip10000x10.png")]


@pytest.fixture(scope="module", params=sorted(own_models.MODELS))
def exported(request, tmp_path_factory):
    kind = request.param
    outside = tmp_path_factory.mktemp("outside_the_repository")
    model_py, labels, spec, shape = own_models.write(str(outside / "src"), kind)
    out = str(outside / ("%s.mge" % kind))
    # fixed:nchw: the settings path without timing (and without NCHW88, which hangs on some CPUs).
    result = testing.run("export", "--model", model_py + ":build", "--input_shape", shape, "--labels", labels,
                         "--preprocess", spec, "--output", out, "--lite_settings", "fixed:nchw", timeout=300)
    assert result.returncode == 0, result.stderr
    return kind, out, model_py


def records(program, model, *extra):
    args = ["-m", model, *[a for image in IMAGES for a in ("-i", image)], "--json", "--topk", "3", *extra]
    result = testing.run(program, *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def test_contract_describes_the_model(exported):
    kind, model, model_py = exported
    info = contract.read(model)
    _, spec, labels, shape = own_models.MODELS[kind]
    assert info["input"]["shape"] == [int(v) for v in shape.split(",")]
    assert info["preprocess"] == spec and info["labels"] == labels
    assert info["weights"] == {"source": "function", "file": model_py, "function": "build", "meaningful": True}
    # The settings were checked in a child process and recorded with this CPU; where Lite cannot
    # load the graph with them (the colour net with weight preprocess + a recorded sequence: an
    # assertion in Lite's loader), none. A chosen fast-run cache is the model's, beside it.
    lite = info["lite"]
    assert lite["cpu"]
    if set(lite) == {"cpu"}:
        print("%s: no candidate loads (recorded as none)" % kind)
    elif lite["nchw88"]:
        assert "fast_run_cache" not in lite
    else:
        assert lite["fast_run_cache"] == os.path.basename(model) + ".fastrun"
        assert contract.file_digest(model + ".fastrun") == lite["fast_run_cache_sha256"]


def test_python_and_cpp_agree(exported):
    _, model, _ = exported
    py, cc = records("py_inference", model), records("cc_inference", model)
    assert len(py) == len(IMAGES)
    assert py == cc


def test_lite_equals_eager(exported):
    import megengine
    import megengine.functional as F

    from mgedeploy import Classifier
    from mgedeploy.exporting import user_model

    _, model, model_py = exported
    classifier = Classifier(model)
    eager = user_model.load_module(model_py, "build")
    worst = 0.0
    for image in IMAGES:
        data = preprocess.load(image, classifier.contract["preprocess"])
        expected = F.softmax(eager(megengine.tensor(data))).numpy()[0]
        worst = max(worst, float(np.abs(classifier.probabilities(image) - expected).max()))
    print("%s: max |Lite - eager| = %.3g" % (os.path.basename(model), worst))
    assert worst <= TOLERANCE


def test_python_api_export_is_the_same(exported, tmp_path):
    """mgedeploy.export(module, ...) gives the same graph's answers as the program."""
    from mgedeploy import Classifier, export
    from mgedeploy.exporting import user_model

    kind, model, model_py = exported
    _, spec, labels, _ = own_models.MODELS[kind]
    out = str(tmp_path / "api.mge")
    lines = []
    export(user_model.load_module(model_py, "build"), out, spec, labels=labels, lite_settings="none", say=lines.append)
    # The default sample is random pixels; a photo given as an array is named as one.
    assert lines[0] == "Eager MegEngine on random pixels:"
    photo = cv2.imread(IMAGES[0])
    again = []
    export(user_model.load_module(model_py, "build"), str(tmp_path / "photo.mge"), spec, labels=labels,
           sample_image=photo, lite_settings="none", say=again.append)
    assert again[0] == "Eager MegEngine on the sample array (%dx%d):" % (photo.shape[1], photo.shape[0])
    a, b = Classifier(model, lite_options="default"), Classifier(out)
    for image in IMAGES:
        assert np.abs(a.probabilities(image) - b.probabilities(image)).max() <= TOLERANCE


if __name__ == "__main__":
    testing.main(__file__, "-s")
