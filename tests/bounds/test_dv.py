import math

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import bounds
from tests.bounds import numpy_reference as ref


def _value_and_grad(fn, scores):
    s = tf.constant(scores, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(s)
        out = fn(s)
        value = out[0] if isinstance(out, tuple) else out
    return out, tape.gradient(value, s).numpy()


@pytest.mark.parametrize("shape", [(2, 2), (8, 8), (5, 12)])
def test_dv_matches_numpy(shape):
    scores = np.random.default_rng(0).normal(size=shape)
    got = float(bounds.dv(scores.astype("float32")))
    assert got == pytest.approx(ref.dv(scores), abs=1e-5)


def test_dv_is_at_least_nwj_and_invariant_to_a_constant():
    scores = np.random.default_rng(1).normal(size=(6, 6)).astype("float32")
    assert float(bounds.dv(scores)) >= float(bounds.nwj(scores))
    assert float(bounds.dv(scores + 7.0)) == pytest.approx(
        float(bounds.dv(scores)), abs=1e-5
    )


def test_dv_near_truth_at_optimal_critic(analytic_scores):
    batches = analytic_scores(2.0, 256, num_batches=4, seed=2)
    assert np.mean([float(bounds.dv(s)) for s in batches]) == pytest.approx(
        2.0, abs=0.1
    )


def test_dv_extreme_scores_finite():
    scores = np.random.default_rng(3).choice([-1e4, 1e4], size=(6, 6))
    value, grad = _value_and_grad(bounds.dv, scores)
    assert np.isfinite(float(value))
    assert np.all(np.isfinite(grad))


def test_mine_value_is_dv_and_gradient_uses_moving_average():
    rng = np.random.default_rng(4)
    scores = rng.normal(size=(4, 4))
    previous = math.log(3.0)
    momentum = 0.9
    (value, state), grad = _value_and_grad(
        lambda s: bounds.mine(s, previous, momentum), scores
    )
    assert float(value) == pytest.approx(ref.dv(scores), abs=1e-5)
    neg = ~np.eye(4, dtype=bool)
    batch_mean = np.mean(np.exp(scores[neg]))
    moving = momentum * 3.0 + (1 - momentum) * batch_mean
    assert float(state) == pytest.approx(math.log(moving), abs=1e-5)
    expected = np.where(
        neg, -np.exp(scores) / (neg.sum() * moving), np.eye(4) / 4
    )
    np.testing.assert_allclose(grad, expected, atol=1e-6)


def test_mine_first_step_starts_the_average_from_the_batch():
    scores = np.random.default_rng(5).normal(size=(5, 5))
    (value, state), grad = _value_and_grad(bounds.mine, scores)
    neg = ~np.eye(5, dtype=bool)
    assert float(state) == pytest.approx(
        math.log(np.mean(np.exp(scores[neg]))), abs=1e-5
    )
    # With the batch average the gradient equals DV's.
    _, dv_grad = _value_and_grad(bounds.dv, scores)
    np.testing.assert_allclose(grad, dv_grad, atol=1e-6)


def test_mine_momentum_is_checked():
    with pytest.raises(ValueError, match="momentum"):
        bounds.mine(np.zeros((3, 3), "float32"), None, momentum=1.0)


@pytest.mark.parametrize("tau", [0.5, 5.0, None])
def test_smile_value_matches_numpy_and_gradient_is_js(tau):
    scores = np.random.default_rng(6).normal(scale=4.0, size=(6, 9))
    value, grad = _value_and_grad(lambda s: bounds.smile(s, tau), scores)
    assert float(value) == pytest.approx(ref.smile(scores, tau), abs=1e-4)
    _, js_grad = _value_and_grad(bounds.js_fgan, scores)
    np.testing.assert_allclose(grad, js_grad, atol=1e-6)


def test_smile_without_clipping_is_dv():
    scores = np.random.default_rng(7).normal(size=(5, 5)).astype("float32")
    assert float(bounds.smile(scores, None)) == pytest.approx(
        float(bounds.dv(scores)), abs=1e-6
    )


def test_smile_tau_is_checked():
    with pytest.raises(ValueError, match="tau"):
        bounds.smile(np.zeros((3, 3), "float32"), tau=0.0)
