import math

import numpy as np
import pytest
from scipy import stats

from keras_infomin import data


def _rho(mi, dim):
    # Per-coordinate correlation of a bivariate normal with
    # I = -(d / 2) log(1 - rho^2), solved for rho.
    return math.sqrt(1.0 - math.exp(-2.0 * mi / dim))


def _corr_per_dim(x, y):
    return np.array(
        [np.corrcoef(x[:, k], y[:, k])[0, 1] for k in range(x.shape[1])]
    )


def _plug_in_gaussian_mi(x, y):
    # I = 1/2 log(det Sxx det Syy / det S) from the sample covariance.
    d = x.shape[1]
    joint = np.cov(np.concatenate([x, y], axis=1), rowvar=False)
    logdet = [
        np.linalg.slogdet(m)[1] for m in (joint[:d, :d], joint[d:, d:], joint)
    ]
    return 0.5 * (logdet[0] + logdet[1] - logdet[2])


def _reference_log_ratio(x, y, rho, cubic):
    # log p(y_j | x_i) - log p(y_j), coordinate by coordinate with scipy. For
    # the cubic variant w = z^3 the densities of w carry the Jacobian
    # |dz/dw| = |w|^(-2/3) / 3, written out in both terms.
    x = np.asarray(x, np.float64)
    y = np.asarray(y, np.float64)
    z = np.cbrt(y) if cubic else y
    log_jac = -math.log(3.0) - (2.0 / 3.0) * np.log(np.abs(y)) if cubic else 0
    scale = math.sqrt(1.0 - rho * rho)
    out = np.zeros((len(x), len(y)))
    for i in range(len(x)):
        conditional = stats.norm.logpdf(z, loc=rho * x[i], scale=scale)
        marginal = stats.norm.logpdf(z)
        out[i] = np.sum((conditional + log_jac) - (marginal + log_jac), axis=1)
    return out


def test_sampler_has_the_requested_correlation_and_mi():
    n, dim, mi = 20000, 4, 1.5
    rho = _rho(mi, dim)
    x, y, true_mi = data.correlated_gaussians(n, dim=dim, mi=mi, seed=0)
    assert x.shape == y.shape == (n, dim)
    assert x.dtype == y.dtype == np.float32
    assert true_mi == pytest.approx(-0.5 * dim * math.log(1.0 - rho**2))
    # Correlation per coordinate: standard error (1 - rho^2) / sqrt(n).
    se = (1.0 - rho**2) / math.sqrt(n)
    np.testing.assert_allclose(_corr_per_dim(x, y), rho, atol=5 * se)
    # Joint covariance [[I, rho I], [rho I, I]]: no cross-coordinate terms.
    expected = np.block(
        [[np.eye(dim), rho * np.eye(dim)], [rho * np.eye(dim), np.eye(dim)]]
    )
    joint = np.cov(np.concatenate([x, y], axis=1), rowvar=False)
    np.testing.assert_allclose(joint, expected, atol=0.05)
    assert _plug_in_gaussian_mi(x, y) == pytest.approx(mi, abs=0.05)


def test_cubic_sample_is_the_cube_of_a_correlated_gaussian():
    n, dim, mi = 20000, 4, 1.5
    rho = _rho(mi, dim)
    x, w, true_mi = data.correlated_gaussians(
        n, dim=dim, mi=mi, cubic=True, seed=1
    )
    x_plain, y_plain, plain_mi = data.correlated_gaussians(
        n, dim=dim, mi=mi, seed=1
    )
    # MI is invariant to the bijection y -> y^3.
    assert true_mi == plain_mi == pytest.approx(mi)
    np.testing.assert_array_equal(x, x_plain)
    np.testing.assert_allclose(
        w, y_plain.astype(np.float64) ** 3, rtol=1e-5, atol=1e-6
    )
    z = np.cbrt(w.astype(np.float64))
    se = (1.0 - rho**2) / math.sqrt(n)
    np.testing.assert_allclose(_corr_per_dim(x, z), rho, atol=5 * se)
    # The cube root is standard normal per coordinate; w itself is far from
    # Gaussian (kurtosis of z^3 is E z^12 / (E z^6)^2 = 10395 / 225 = 46).
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=5 / math.sqrt(n))
    np.testing.assert_allclose(z.var(axis=0), 1.0, atol=0.05)
    np.testing.assert_allclose(
        stats.kurtosis(z, axis=0, fisher=False), 3.0, atol=0.2
    )
    assert np.all(stats.kurtosis(w, axis=0, fisher=False) > 10.0)
    # Linear correlation with x drops to 3 rho / sqrt(15) after the cube.
    assert np.all(_corr_per_dim(x, w) < rho - 0.1)
    assert _plug_in_gaussian_mi(x, z) == pytest.approx(mi, abs=0.05)


@pytest.mark.parametrize("cubic", [False, True])
def test_log_density_ratio_matches_scipy_densities(cubic):
    dim, mi = 3, 1.0
    x, y, _ = data.correlated_gaussians(7, dim=dim, mi=mi, cubic=cubic, seed=2)
    _, y_other, _ = data.correlated_gaussians(
        5, dim=dim, mi=mi, cubic=cubic, seed=3
    )
    y = np.concatenate([y, y_other])  # M > N: extra candidate columns
    got = data.gaussian_log_density_ratio(x, y, mi, cubic=cubic)
    assert got.shape == (7, 12) and got.dtype == np.float64
    expected = _reference_log_ratio(x, y, _rho(mi, dim), cubic)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-9)


def test_cubic_log_density_ratio_is_the_plain_ratio_at_the_cube_root():
    x, w, _ = data.correlated_gaussians(16, dim=5, mi=2.0, cubic=True, seed=4)
    cubic = data.gaussian_log_density_ratio(x, w, 2.0, cubic=True)
    plain = data.gaussian_log_density_ratio(
        x, np.cbrt(w.astype(np.float64)), 2.0
    )
    np.testing.assert_allclose(cubic, plain, rtol=1e-12, atol=1e-12)
    # Treating cubed samples as plain ones gives a different critic.
    assert not np.allclose(data.gaussian_log_density_ratio(x, w, 2.0), plain)


@pytest.mark.parametrize("cubic", [False, True])
def test_log_density_ratio_averages_to_the_true_mi(cubic):
    # E_p[log p(y|x) / p(y)] = I(X; Y) on joint samples.
    n, dim, mi = 2000, 20, 4.0
    x, y, true_mi = data.correlated_gaussians(
        n, dim=dim, mi=mi, cubic=cubic, seed=5
    )
    joint = np.diagonal(data.gaussian_log_density_ratio(x, y, mi, cubic))
    se = joint.std(ddof=1) / math.sqrt(n)
    assert abs(joint.mean() - true_mi) < 4 * se
    # On independent pairs the ratio has mean 1: E_q[p(y|x) / p(y)] = 1.
    _, y_indep, _ = data.correlated_gaussians(
        n, dim=dim, mi=mi, cubic=cubic, seed=6
    )
    ratio = np.exp(
        np.diagonal(data.gaussian_log_density_ratio(x, y_indep, mi, cubic))
    )
    assert abs(ratio.mean() - 1.0) < 5 * ratio.std(ddof=1) / math.sqrt(n)


def test_dataset_cubic_batches_are_cubes_of_correlated_gaussians():
    n, dim, mi = 4096, 4, 1.0
    rho = _rho(mi, dim)
    dataset, true_mi = data.gaussian_mi_dataset(
        (mi,), 1, batch_size=n, dim=dim, cubic=True, seed=7
    )
    np.testing.assert_array_equal(true_mi, [mi])
    x, w = (t.numpy() for t in next(iter(dataset)))
    z = np.cbrt(w.astype(np.float64))
    se = (1.0 - rho**2) / math.sqrt(n)
    np.testing.assert_allclose(_corr_per_dim(x, z), rho, atol=5 * se)
    np.testing.assert_allclose(
        stats.kurtosis(z, axis=0, fisher=False), 3.0, atol=0.4
    )
