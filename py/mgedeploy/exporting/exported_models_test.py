"""The build-time exports (//testdata:*_mge) under Lite against the eager models, on every photo."""
import glob
import os
import sys


import megengine  # noqa: E402
import megengine.functional as F  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mgedeploy import contract, preprocess  # noqa: E402
from mgedeploy.cli import paths  # noqa: E402
from mgedeploy.lite import options as lite_options  # noqa: E402
from mgedeploy.lite import runner as lite_runner  # noqa: E402
from mgedeploy.peers import eager as eager_model  # noqa: E402

TESTDATA = os.path.join(paths.REPO_ROOT, "testdata")
PHOTOS = sorted(glob.glob(os.path.join(TESTDATA, "*.jpg")))
# Same float32 kernels on the same CPU; Lite's fused graph only reorders sums: 1e-5 on probabilities.
TOLERANCE = 1e-5
CAT_CLASSES = range(281, 288)  # tabby .. lynx
ESPRESSO = 967


@pytest.fixture(scope="module", params=["efficientnet_lite0", "snetv2_x100"])
def exported(request):
    name = request.param
    path = os.path.join(TESTDATA, name + ".mge")
    info = contract.read(path)
    assert info["model"] == name
    options, _ = lite_options.options_for(info, path, "best")  # what the programs run by default
    return name, info, lite_runner.LiteRunner(path, info["input"]["name"], options=options), eager_model.from_contract(info)


def test_photos_present():
    assert len(PHOTOS) >= 2


@pytest.mark.parametrize("photo", PHOTOS, ids=os.path.basename)
def test_lite_equals_eager(exported, photo):
    name, info, lite, eager = exported
    data = preprocess.load(photo, info["preprocess"])
    lite_probs = lite.run(data)
    eager_probs = F.softmax(eager(megengine.tensor(data))).numpy()
    assert lite_probs.shape == (1, 1000)
    np.testing.assert_allclose(lite_probs, eager_probs, rtol=0, atol=TOLERANCE)
    assert abs(float(lite_probs.sum()) - 1.0) < 1e-4


def test_lite0_knows_the_photos():
    path = os.path.join(TESTDATA, "efficientnet_lite0.mge")
    info = contract.read(path)
    lite = lite_runner.LiteRunner(path, info["input"]["name"])
    cat = lite.run(preprocess.load(os.path.join(TESTDATA, "cat.jpg"), info["preprocess"]))[0]
    coffee = lite.run(preprocess.load(os.path.join(TESTDATA, "coffee.jpg"), info["preprocess"]))[0]
    assert int(cat.argmax()) in CAT_CLASSES
    assert int(coffee.argmax()) == ESPRESSO
    assert info["labels"][ESPRESSO] == "espresso"


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
