import math

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import bounds
from tests.bounds import numpy_reference as ref


@pytest.mark.parametrize("shape", [(2, 2), (8, 8), (6, 17)])
def test_matches_numpy_reference(shape):
    scores = np.random.default_rng(0).normal(scale=3.0, size=shape)
    got = float(bounds.infonce(scores.astype("float32")))
    assert got == pytest.approx(ref.infonce(scores), abs=1e-5)


def test_cap_is_log_m_and_is_reached_by_a_separating_critic():
    for m in (4, 64, 100):
        scores = np.random.default_rng(m).normal(size=(4, m)) * 50
        assert float(bounds.infonce(scores.astype("float32"))) <= math.log(m)
        perfect = np.full((4, m), -30.0, "float32")
        perfect[np.arange(4), np.arange(4)] = 30.0
        assert float(bounds.infonce(perfect)) == pytest.approx(
            math.log(m), abs=1e-6
        )


def test_unchanged_by_a_constant_added_to_a_row():
    rng = np.random.default_rng(3)
    scores = rng.normal(size=(6, 9)).astype("float32")
    shifted = scores + rng.normal(scale=100.0, size=(6, 1)).astype("float32")
    assert float(bounds.infonce(shifted)) == pytest.approx(
        float(bounds.infonce(scores)), abs=1e-4
    )


def test_extra_negatives_raise_the_cap():
    scores = np.full((4, 12), -5.0, "float32")
    scores[np.arange(4), np.arange(4)] = 20.0
    assert float(bounds.infonce(scores[:, :4])) == pytest.approx(math.log(4))
    assert float(bounds.infonce(scores)) == pytest.approx(math.log(12))


def test_diagonal_mask_equals_default():
    scores = np.random.default_rng(4).normal(size=(5, 8)).astype("float32")
    masked = bounds.infonce(scores, np.eye(5, 8, dtype=bool))
    assert float(masked) == pytest.approx(float(bounds.infonce(scores)), 1e-6)


def test_positive_in_first_column_queue_layout():
    # MoCo layout: [positive | K queue negatives] per row.
    rng = np.random.default_rng(5)
    scores = rng.normal(size=(4, 1 + 10))
    mask = np.zeros_like(scores, dtype=bool)
    mask[:, 0] = True
    got = float(bounds.infonce(scores.astype("float32"), mask))
    assert got == pytest.approx(ref.infonce(scores, mask), abs=1e-5)
    # Same as moving the positive column onto the diagonal of each row.
    expected = np.mean(
        scores[:, 0] - np.log(np.exp(scores).sum(axis=1))
    ) + math.log(11)
    assert got == pytest.approx(expected, abs=1e-5)


def test_several_positives_per_row():
    rng = np.random.default_rng(6)
    scores = rng.normal(size=(4, 8))
    mask = np.zeros((4, 8), bool)
    mask[np.arange(4), np.arange(4)] = True
    mask[np.arange(4), np.arange(4) + 4] = True
    got = float(bounds.infonce(scores.astype("float32"), mask))
    assert got == pytest.approx(ref.infonce(scores, mask), abs=1e-5)


def test_optimal_critic_gives_true_mi_below_the_cap(analytic_scores):
    # I = 1 nat << log 512: InfoNCE of the optimal critic sits just below I.
    values = [float(bounds.infonce(s)) for s in analytic_scores(1.0, 512, 4)]
    assert 0.85 < np.mean(values) <= 1.02


def test_optimal_critic_saturates_at_log_n_for_high_mi(analytic_scores):
    values = [float(bounds.infonce(s)) for s in analytic_scores(10.0, 64, 4)]
    assert math.log(64) - 0.3 < np.mean(values) <= math.log(64)


def test_extreme_scores_have_finite_value_and_gradient():
    rng = np.random.default_rng(7)
    scores = tf.constant(rng.choice([-1e4, 1e4], size=(8, 8)), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(scores)
        value = bounds.infonce(scores)
    grad = tape.gradient(value, scores)
    assert np.isfinite(float(value))
    assert np.all(np.isfinite(grad.numpy()))


def test_gradient_is_identity_minus_softmax_over_n():
    scores = tf.constant(
        np.random.default_rng(8).normal(size=(3, 5)), "float32"
    )
    with tf.GradientTape() as tape:
        tape.watch(scores)
        value = bounds.infonce(scores)
    grad = tape.gradient(value, scores).numpy()
    s = scores.numpy().astype("float64")
    softmax = np.exp(s) / np.exp(s).sum(axis=1, keepdims=True)
    expected = (np.eye(3, 5) - softmax) / 3
    np.testing.assert_allclose(grad, expected, atol=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_positive_far_below_its_row_keeps_an_exact_value(dtype):
    # The positive of row 1 sits 2000 nats below its row's largest score:
    # its softmax probability underflows, the bound must not.
    scores = np.random.default_rng(9).normal(size=(4, 6))
    scores[1, 1] = -1000.0
    scores[1, 4] = 1000.0
    with tf.GradientTape() as tape:
        tensor = tf.constant(scores, dtype)
        tape.watch(tensor)
        value = bounds.infonce(tensor)
    grad = tape.gradient(value, tensor).numpy()
    assert value.dtype == dtype
    assert float(value) == pytest.approx(ref.infonce(scores), rel=1e-6)
    softmax = np.exp(scores - scores.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(grad, (np.eye(4, 6) - softmax) / 4, atol=1e-6)


def test_minus_infinity_scores_are_excluded_candidates():
    scores = np.random.default_rng(10).normal(size=(3, 5)).astype("float32")
    masked = scores.copy()
    masked[0, 3] = masked[2, 4] = -np.inf
    with tf.GradientTape() as tape:
        tensor = tf.constant(masked)
        tape.watch(tensor)
        value = bounds.infonce(tensor)
    grad = tape.gradient(value, tensor).numpy()
    expected = sum(
        s[i] - np.log(np.exp(s[np.isfinite(s)]).sum())
        for i, s in enumerate(masked.astype("float64"))
    ) / 3 + math.log(5)
    assert float(value) == pytest.approx(expected, abs=1e-5)
    assert grad[0, 3] == 0.0 and grad[2, 4] == 0.0
    assert np.all(np.isfinite(grad))
