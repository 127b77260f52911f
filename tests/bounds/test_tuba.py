import math

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import bounds
from tests.bounds import numpy_reference as ref


@pytest.mark.parametrize("shape", [(2, 2), (7, 7), (5, 11)])
def test_nwj_and_tuba_match_numpy(shape):
    rng = np.random.default_rng(0)
    scores = rng.normal(size=shape)
    log_a = rng.normal(size=shape[1])
    s32 = scores.astype("float32")
    assert float(bounds.nwj(s32)) == pytest.approx(ref.nwj(scores), abs=1e-5)
    assert float(bounds.tuba(s32)) == pytest.approx(ref.tuba(scores), abs=1e-5)
    got = float(bounds.tuba(s32, log_a.astype("float32")))
    assert got == pytest.approx(ref.tuba(scores, log_a), abs=1e-5)


def test_nwj_is_tuba_with_baseline_e():
    scores = np.random.default_rng(1).normal(size=(6, 6)).astype("float32")
    assert float(bounds.nwj(scores)) == pytest.approx(
        float(bounds.tuba(scores, 1.0)), abs=1e-6
    )


def test_masked_nwj_matches_numpy():
    rng = np.random.default_rng(2)
    scores = rng.normal(size=(4, 9))
    mask = np.zeros((4, 9), bool)
    mask[:, 0] = True
    mask[:, 1] = True
    got = float(bounds.nwj(scores.astype("float32"), mask))
    assert got == pytest.approx(ref.nwj(scores, mask), abs=1e-5)


def test_nwj_is_unbiased_at_its_optimal_critic(analytic_scores):
    # NWJ's optimal critic is 1 + log r; TUBA(a=1)'s is log r.
    for mi in (1.0, 2.0):
        batches = analytic_scores(mi, 256, num_batches=8, seed=int(mi))
        nwj = np.mean([float(bounds.nwj(s + 1.0)) for s in batches])
        tuba = np.mean([float(bounds.tuba(s)) for s in batches])
        assert nwj == pytest.approx(mi, abs=0.1)
        assert tuba == pytest.approx(mi, abs=0.1)


def test_tuba_learned_baseline_shifts_the_optimal_critic(analytic_scores):
    # f = log r + log a(y) with any a(y) > 0 keeps TUBA tight.
    (scores,) = analytic_scores(1.0, 512, seed=3)
    log_a = np.random.default_rng(3).normal(size=512).astype("float32")
    value = float(bounds.tuba(scores + log_a[None, :], log_a))
    assert value == pytest.approx(float(bounds.tuba(scores)), abs=1e-4)


def test_baseline_shape_is_checked():
    with pytest.raises(ValueError, match="log_baseline"):
        bounds.tuba(np.zeros((4, 4), "float32"), np.zeros((3,), "float32"))


def test_tuba_finite_for_large_negative_and_large_positive_scores():
    scores = np.full((6, 6), -1e4, "float32")
    np.fill_diagonal(scores, 1e4)
    s = tf.constant(scores)
    with tf.GradientTape() as tape:
        tape.watch(s)
        value = bounds.nwj(s)
    assert float(value) == pytest.approx(1e4)
    assert np.all(np.isfinite(tape.gradient(value, s).numpy()))


@pytest.mark.parametrize("bound,shift", [("nwj", 1.0), ("tuba", 0.0)])
def test_overflowing_negative_pair_gives_minus_inf_and_exact_gradient(
    bound, shift
):
    # d/dS_ij of -E_q[e^(S - shift)] is -e^(S_ij - shift) / |neg|: -inf only
    # where that overflows, exact (and finite) everywhere else.
    rng = np.random.default_rng(6)
    scores = rng.normal(size=(4, 6)).astype("float32")
    scores[0, 3] = 1e4
    scores[2, 1] = -1e4
    scores[1, 1] = 1e4  # a positive
    s = tf.constant(scores)
    with tf.GradientTape() as tape:
        tape.watch(s)
        value = getattr(bounds, bound)(s)
    assert float(value) == -math.inf
    negatives = ~np.eye(4, 6, dtype=bool)
    with np.errstate(over="ignore"):
        exp = np.exp(scores.astype("float64") - shift)
    expected = np.where(negatives, -exp / negatives.sum(), 1.0 / 4)
    np.testing.assert_allclose(
        tape.gradient(value, s).numpy(), expected, rtol=1e-5, atol=1e-7
    )


def test_tuba_large_but_representable_marginal_is_exact():
    # Negative scores of 88.5: E_q[e^f] = e^88.5 fits float32 though the
    # sum over the 30 negatives does not.
    scores = np.full((6, 6), 88.5)
    np.fill_diagonal(scores, 0.0)
    value = float(bounds.tuba(scores.astype("float32")))
    assert value == pytest.approx(ref.tuba(scores), rel=1e-5)
    assert math.isfinite(value)


@pytest.mark.parametrize("alpha", [0.01, 0.5, 1.0])
def test_interpolated_matches_direct_leave_one_out(alpha):
    rng = np.random.default_rng(4)
    scores = rng.normal(scale=2.0, size=(6, 6))
    log_q = rng.normal(size=6)
    got = float(
        bounds.interpolated(
            scores.astype("float32"), alpha, log_q.astype("float32")
        )
    )
    assert got == pytest.approx(
        ref.interpolated(scores, alpha, log_q), abs=1e-4
    )


def test_interpolated_cap_is_one_plus_log_k_over_alpha():
    # Joint terms <= log(K / alpha), marginal term >= 0.
    n, alpha = 16, 0.1
    log_k_over_alpha = math.log((n - 1) / alpha)
    rng = np.random.default_rng(5)
    for _ in range(5):
        scores = rng.normal(scale=20.0, size=(n, n)).astype("float32")
        value = float(bounds.interpolated(scores, alpha))
        assert value <= 1.0 + log_k_over_alpha + 1e-4
    # Perfect critic, negatives at log q = 0: marginal term 1, value
    # log(K / alpha).
    perfect = (30.0 * np.eye(n)).astype("float32")
    assert float(bounds.interpolated(perfect, alpha)) == pytest.approx(
        log_k_over_alpha, abs=1e-3
    )
    # Negatives far below log q: marginal term ~0, value 1 + log(K / alpha).
    perfect = np.where(np.eye(n, dtype=bool), 30.0, -30.0).astype("float32")
    assert float(bounds.interpolated(perfect, alpha)) == pytest.approx(
        1.0 + log_k_over_alpha, abs=1e-3
    )


def test_interpolated_near_truth_at_optimal_critic(analytic_scores):
    batches = analytic_scores(2.0, 128, num_batches=4, seed=6)
    values = [float(bounds.interpolated(s, 0.01)) for s in batches]
    assert np.mean(values) == pytest.approx(2.0, abs=0.15)


def test_interpolated_dominant_entry_stays_finite():
    scores = np.zeros((5, 5), "float32")
    scores[0, 0] = 60.0  # one entry holds all of its column's mass
    s = tf.constant(scores)
    with tf.GradientTape() as tape:
        tape.watch(s)
        value = bounds.interpolated(s, 0.5)
    assert np.isfinite(float(value))
    assert np.all(np.isfinite(tape.gradient(value, s).numpy()))


def test_interpolated_argument_errors():
    square = np.zeros((4, 4), "float32")
    with pytest.raises(ValueError, match="alpha"):
        bounds.interpolated(square, 0.0)
    with pytest.raises(ValueError, match="alpha"):
        bounds.interpolated(square, 1.5)
    with pytest.raises(ValueError, match="square"):
        bounds.interpolated(np.zeros((4, 6), "float32"), 0.5)
