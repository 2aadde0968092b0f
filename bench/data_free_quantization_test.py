"""Cross-layer equalization (with its per-channel clamps) keeps the fp32 function and balances the
ranges it targets; bias correction removes the mean shift that weight quantisation causes."""
import numpy as np

from mgedeploy.cli import quiet

quiet.import_megengine()

import megengine  # noqa: E402

from bench import data_free_quantization as dfq  # noqa: E402
from bench import efficientnet_lite_int8 as int8  # noqa: E402
from mgedeploy import models  # noqa: E402
from mgedeploy.weights import sources  # noqa: E402
from tests import testing  # noqa: E402


def fp32_model():
    float_model = models.build("efficientnet_lite0")
    sources.load_packaged(float_model)
    float_model.eval()
    return float_model


def lite0(float_model=None):
    model = int8.QuantizableLite0(float_model or fp32_model())
    model.eval()
    return model


def inputs(count, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (1, 3, 224, 224)).astype(np.float32) for _ in range(count)]


def test_equalized_model_is_the_fp32_function():
    float_model = fp32_model()
    model = lite0(float_model)
    x = megengine.tensor(inputs(1)[0])
    dfq.prepare(model, [], equalize=True, bias_correction=False)
    dfq.install_clips(model)  # the head's clamp of 6, which prepare leaves to quantisation's cap
    # Float32 rounding only: folding, rescaling and the wider zero-led kernels reorder products;
    # 1e-3 of logits that reach ~10. Without the per-channel clamps (ReLU6 as ReLU) it is far off.
    expected = float_model(x).numpy()
    np.testing.assert_allclose(model(x).numpy(), expected, atol=1e-3)
    for _, _, owner, attribute in dfq.pairs(model):
        setattr(owner, attribute, None)
    assert np.abs(model(x).numpy() - expected).max() > 0.1


def imbalance(model):
    """Per pair: the median over channels of |log(r1 / r2)| (0: the two ranges are equal)."""
    result = []
    for first, second, _, _ in dfq.pairs(model):
        w1, w2 = first.conv.weight.numpy(), second.conv.weight.numpy()
        r1 = np.abs(w1).reshape(w1.shape[0], -1).max(axis=1)
        r2 = dfq._input_ranges(second, w2)
        used = (r1 > 0) & (r2 > 0)
        result.append(float(np.median(np.abs(np.log(r1[used] / r2[used])))))
    return np.array(result)


def test_equalization_balances_each_pair_within_its_bound():
    folded = lite0()
    dfq.prepare(folded, [], equalize=False, bias_correction=False)
    model = lite0()
    dfq.prepare(model, [], equalize=True, bias_correction=False)
    before, after = imbalance(folded), imbalance(model)
    # Measured: folded, a pair's median channel has r1 / r2 = 1.3-25.6 (median 4.4); equalized
    # 1.0-3.2 (median 1.0: most channels meet; the bound stops the rest).
    assert np.all(after <= before + 1e-6) and np.median(after) < np.median(before) / 2, (before, after)
    for _, _, owner, attribute in dfq.pairs(model):
        scales = int8.RELU6_CAP / getattr(owner, attribute).clip.numpy()
        assert scales.min() >= 1 / dfq.MAX_CHANNEL_SCALE - 1e-6 and scales.max() <= dfq.MAX_CHANNEL_SCALE + 1e-6


def test_bias_correction_removes_the_mean_shift_of_weight_quantisation():
    model = lite0()
    dfq.prepare(model, [], equalize=False, bias_correction=False)
    layer = model.blocks[0].project  # a 1x1 ConvBn2d: its output is linear in its input
    calibration = inputs(4, seed=1)
    means = dfq._input_means(model, [layer], calibration)[id(layer)]
    weight, bias = dfq._weights(layer)
    shift = np.einsum("oihw,i->o", dfq._quantisation_error(weight), means)
    dfq.correct_biases(model, calibration)
    _, corrected = dfq._weights(layer)
    np.testing.assert_allclose(corrected, bias - shift, rtol=1e-5, atol=1e-7)
    assert np.abs(shift).max() > 0  # the test would pass vacuously if nothing were corrected


if __name__ == "__main__":
    testing.main(__file__)
