"""Smoke test of the Python toolchain: trace and dump a tiny net, run it with megenginelite."""
import os
import sys

import numpy as np
import pytest
from megenginelite import LiteNetwork

from mgedeploy.models import tiny as tiny_model


def test_lite_matches_eager(tmp_path):
    net = tiny_model.build()
    path = str(tmp_path / "tiny.mge")
    tiny_model.dump(net, path)
    assert not os.path.exists(path + ".tmp")

    network = LiteNetwork()
    network.load(path)
    data = tiny_model.sample_input()
    network.get_io_tensor(tiny_model.INPUT_NAME).set_data_by_copy(data)
    network.forward()
    network.wait()
    lite = network.get_io_tensor(network.get_output_name(0)).to_numpy()

    eager = tiny_model.eager_softmax(net, data)
    assert lite.shape == (1, tiny_model.NUM_CLASSES)
    # Same float32 kernels on the same CPU; 1e-6 leaves room only for summation order.
    np.testing.assert_allclose(lite, eager, rtol=0, atol=1e-6)
    assert abs(float(lite.sum()) - 1.0) < 1e-5
    # A seeded random init is not uniform: a dump that lost the weights would give 0.1 each.
    assert float(lite.max()) > 0.1 + 1e-3


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
