"""Model definitions and weight loading."""
import sys

import os

import megengine
import megengine.functional as F
import numpy as np
import pytest

from mgedeploy import labels, models, preprocess
from mgedeploy.weights import sources as weights
from tests import fixtures

def count_parameters(model):
    return sum(int(np.prod(p.shape)) for p in model.parameters())

def test_snetv2_parameter_count():
    assert count_parameters(models.build("snetv2_x100")) == 2_278_760

def test_snetv2_uses_basecls_names():
    names = set(models.build("snetv2_x100").state_dict())
    for name in ("stem.conv.weight", "stem.bn.running_var", "stage0.0.branch_proj.2.weight",
                 "stage1.7.branch_main.5.weight", "head.conv.weight", "head.fc.weight"):
        assert name in names

def test_basecls_checkpoint_round_trip(tmp_path):
    source = models.build("snetv2_x100")
    weights.randomise(source, seed=7)
    path = str(tmp_path / "snetv2_x100.pkl")
    # basecls checkpoints are megengine.save'd dicts, sometimes wrapped as {"state_dict": ...}.
    megengine.save({"state_dict": source.state_dict()}, path)
    loaded = models.build("snetv2_x100")
    weights.load_file(loaded, "snetv2_x100", path)
    data = megengine.tensor(np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32))
    np.testing.assert_array_equal(loaded(data).numpy(), source(data).numpy())

def test_wrong_keys_and_shapes_are_refused(tmp_path):
    model = models.build("snetv2_x100")
    state = {k: np.array(v) for k, v in model.state_dict().items()}
    renamed = dict(state)
    renamed["stem.conv.kernel"] = renamed.pop("stem.conv.weight")
    with pytest.raises(weights.WeightsError, match="missing.*stem.conv.weight"):
        weights.apply_state(model, renamed, "x")
    reshaped = dict(state)
    reshaped["head.fc.weight"] = np.zeros((10, 10), np.float32)
    with pytest.raises(weights.WeightsError, match="head.fc.weight has shape"):
        weights.apply_state(model, reshaped, "x")

def test_lite0_packaged_weights_load_and_classify_a_known_input():
    model = models.build("efficientnet_lite0")
    weights.load_packaged(model)
    state = model.state_dict()
    assert len(state) == 247  # the .pth's 296 entries less 49 num_batches_tracked
    assert tuple(state["blocks.5.depthwise_conv.conv.weight"].shape) == (240, 1, 1, 3, 3)
    # The known input: the cat photo, classified eagerly as the README shows (tiger_cat 38.5 %,
    # Egyptian_cat 35.2 %); 1e-3 is far above float32 noise and far below a wrong weight's effect.
    spec = preprocess.SPECS["efficientnet_lite0"]
    data = megengine.tensor(preprocess.load(fixtures.CAT, spec))
    model.eval()
    probs = F.softmax(model(data), axis=1).numpy()[0]
    top = np.argsort(-probs)[:2]
    names = labels.imagenet_names()
    assert [names[i] for i in top] == ["tiger_cat", "Egyptian_cat"]
    assert abs(probs[top[0]] - 0.385) < 1e-3 and abs(probs[top[1]] - 0.352) < 1e-3

def test_same_padding():
    from mgedeploy.models.efficientnet_lite import same_padding

    assert same_padding(224, 3, 2) == (0, 1)
    assert same_padding(56, 5, 2) == (1, 2)
    assert same_padding(14, 5, 1) == (2, 2)

def test_padding_free_same_conv_equals_explicit_pad():
    """The concat-a-zero-row formulation computes exactly what TF "SAME" (a Pad op) computes."""
    import megengine.functional as F

    from mgedeploy.models.efficientnet_lite import SameConv2d, same_padding

    rng = np.random.default_rng(3)
    for size, kernel in ((8, 3), (8, 5), (7, 5)):
        conv = SameConv2d(4, 4, kernel, 2, size, groups=4)
        conv.conv.weight = megengine.Parameter(rng.standard_normal(conv.conv.weight.shape).astype(np.float32))
        x = megengine.tensor(rng.standard_normal((1, 4, size, size)).astype(np.float32))
        before, after = same_padding(size, kernel, 2)
        padded = F.nn.pad(x, ((0, 0), (0, 0), (before, after), (before, after)))
        expected = F.conv2d(padded, conv.conv.weight, stride=2, groups=4)
        np.testing.assert_allclose(conv(x).numpy(), expected.numpy(), rtol=0, atol=1e-5)

def test_lite0_forms_compute_the_same_function():
    """The padding and ReLU6 forms //bench:speed_path measures differ in graph, not in values."""
    from mgedeploy.models import efficientnet_lite

    x = megengine.tensor(np.random.default_rng(5).standard_normal((1, 3, 224, 224)).astype(np.float32))
    outputs = {}
    for padding_form in efficientnet_lite.PADDING_FORMS:
        for relu6_form in efficientnet_lite.RELU6_FORMS:
            model = efficientnet_lite.build(padding_form, relu6_form)
            model.eval()
            weights.randomise(model, seed=2)
            outputs[padding_form, relu6_form] = model(x).numpy()
    reference = outputs["pad_op", "relu6"]
    for form, output in outputs.items():
        # Same products, another summation order at most: float32 rounding only.
        np.testing.assert_allclose(output, reference, rtol=0, atol=1e-5 * np.abs(reference).max(), err_msg=str(form))

if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q", "-p", "no:cacheprovider"]))
