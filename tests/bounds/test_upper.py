import math

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin import data
from tests.bounds import numpy_reference as ref


def test_club_matches_numpy():
    for shape in ((2, 2), (7, 7), (5, 11)):
        log_q = np.random.default_rng(0).normal(scale=3.0, size=shape)
        got = float(bounds.club(log_q.astype("float32")))
        assert got == pytest.approx(ref.club(log_q), abs=1e-5)


def test_masked_club_matches_numpy():
    rng = np.random.default_rng(1)
    log_q = rng.normal(size=(4, 9))
    mask = np.zeros((4, 9), bool)
    mask[:, 0] = mask[:, 1] = True
    got = float(bounds.club(log_q.astype("float32"), mask))
    assert got == pytest.approx(ref.club(log_q, mask), abs=1e-5)
    ll = bounds.conditional_log_likelihood(log_q.astype("float32"), mask)
    assert float(ll) == pytest.approx(log_q[mask].mean(), abs=1e-5)


def test_l1out_matches_numpy():
    for n in (2, 3, 9):
        log_q = np.random.default_rng(n).normal(scale=4.0, size=(n, n))
        got = float(bounds.l1out(log_q.astype("float32")))
        assert got == pytest.approx(ref.l1out(log_q), abs=1e-5)


def test_conditional_log_likelihood_is_the_mean_of_the_diagonal():
    log_q = np.random.default_rng(2).normal(size=(5, 8)).astype("float32")
    got = float(bounds.conditional_log_likelihood(log_q))
    assert got == pytest.approx(np.diag(log_q).mean(), abs=1e-6)


def _true_conditional(dim, rho):
    """GaussianConditional set to p(y | x) = N(rho x, (1 - rho^2) I)."""
    q = critics.GaussianConditional(hidden_units=())
    q(np.zeros((2, dim), "float32"), np.zeros((2, dim), "float32"))
    q.mean_head.kernel.assign(rho * np.eye(dim))
    q.mean_head.bias.assign(np.zeros(dim))
    variance = 1.0 - rho * rho - q.min_variance
    q.variance_head.kernel.assign(np.zeros((dim, dim)))
    q.variance_head.bias.assign(np.full(dim, math.log(math.expm1(variance))))
    return q


@pytest.mark.parametrize("mi,dim,n", [(1.0, 5, 256), (2.0, 10, 128)])
def test_upper_bounds_above_and_lower_bounds_below_the_truth(mi, dim, n):
    # Correlated Gaussians with the true conditional plugged in: CLUB is
    # d rho^2 / (1 - rho^2) in expectation, L1Out is above I and tends to
    # it, and the lower bounds on the same batches (InfoNCE on L^T, the
    # mixture with the diagonal kept; NWJ at its optimal critic) are below.
    rho = data.rho_for_mi(mi, dim)
    q = _true_conditional(dim, rho)
    values = {"club": [], "l1out": [], "infonce": [], "nwj": []}
    for seed in range(12):
        x, y, _ = data.correlated_gaussians(n, dim=dim, mi=mi, seed=seed)
        log_q = q(x, y)
        ratio = data.gaussian_log_density_ratio(x, y, mi).astype("float32")
        values["club"].append(float(bounds.club(log_q)))
        values["l1out"].append(float(bounds.l1out(log_q)))
        values["infonce"].append(float(bounds.infonce(tf.transpose(log_q))))
        values["nwj"].append(float(bounds.nwj(ratio + 1.0)))
    mean = {k: np.mean(v) for k, v in values.items()}
    err = {k: 3 * np.std(v) / math.sqrt(len(v)) for k, v in values.items()}
    club_closed = dim * rho**2 / (1 - rho**2)
    assert mean["club"] == pytest.approx(club_closed, abs=err["club"])
    assert club_closed > mi
    assert mean["l1out"] >= mi - err["l1out"]
    assert mean["l1out"] <= mi + 0.15
    assert mean["infonce"] <= mi + err["infonce"]
    assert mean["nwj"] <= mi + err["nwj"]
    for upper in ("club", "l1out"):
        assert mean[upper] > mean["infonce"]


def test_log_densities_of_the_true_conditional_match_scipy():
    from scipy import stats

    dim = 3
    x, y, _ = data.correlated_gaussians(6, dim=dim, mi=0.5, seed=0)
    rho = data.rho_for_mi(0.5, dim)
    log_q = _true_conditional(dim, rho)(x, y).numpy()
    expected = [
        [
            stats.multivariate_normal(
                rho * xi, (1 - rho * rho) * np.eye(dim)
            ).logpdf(yj)
            for yj in y.astype("float64")
        ]
        for xi in x.astype("float64")
    ]
    np.testing.assert_allclose(log_q, expected, rtol=1e-5, atol=1e-4)


def test_extreme_log_likelihoods_have_finite_value_and_gradient():
    rng = np.random.default_rng(7)
    log_q = tf.constant(rng.choice([-1e4, 1e4], size=(8, 8)), tf.float32)
    for bound in ("club", "l1out", "conditional_log_likelihood"):
        with tf.GradientTape() as tape:
            tape.watch(log_q)
            value = getattr(bounds, bound)(log_q)
        assert np.isfinite(float(value))
        assert np.all(np.isfinite(tape.gradient(value, log_q).numpy()))


def test_l1out_gradient_is_exact():
    # d/dL_ii = 1/N; d/dL_ji (j != i) = -softmax over column i without
    # row i, / N.
    log_q = np.random.default_rng(8).normal(size=(4, 4))
    t = tf.constant(log_q, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(t)
        value = bounds.l1out(t)
    off = np.where(np.eye(4, dtype=bool), -np.inf, log_q)
    soft = np.exp(off - off.max(0)) / np.exp(off - off.max(0)).sum(0)
    expected = (np.eye(4) - soft) / 4
    np.testing.assert_allclose(
        tape.gradient(value, t).numpy(), expected, atol=1e-6
    )


def test_registry_keeps_upper_bounds_apart_from_lower_bounds():
    assert bounds.get_upper("club") is bounds.club
    assert bounds.get_upper("l1out") is bounds.l1out
    assert not set(bounds.UPPER_BOUNDS) & set(bounds.BOUNDS)
    with pytest.raises(ValueError, match="get_upper"):
        bounds.get("club")
    with pytest.raises(ValueError, match="Unknown upper bound"):
        bounds.get_upper("infonce")


def test_argument_errors():
    with pytest.raises(ValueError, match="square"):
        bounds.l1out(np.zeros((3, 5), "float32"))
    with pytest.raises(ValueError, match="at least as many columns"):
        bounds.club(np.zeros((5, 3), "float32"))
    with pytest.raises(ValueError, match="log_likelihoods"):
        bounds.club(np.zeros((5,), "float32"))
    with pytest.raises(TypeError, match="floating"):
        bounds.club(np.zeros((3, 3), "int32"))
