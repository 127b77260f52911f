import math

import numpy as np
import pytest
from scipy import integrate
from scipy import special
from scipy import stats

from keras_infomin import data
from keras_infomin.data import mi_tasks
from keras_infomin.estimators import ksg

# Task id -> (dim_x, dim_y, true MI in nats) of the Beyond Normal v1 list,
# printed by the benchmark's own code (benchmark-mi 0.1.3, task_list.py;
# its additive-noise value went through float32, hence abs=1e-6 below).
BENCHMARK_V1 = {
    "1v1-normal-0.75": (1, 1, 0.4133392866),
    "normal_cdf-1v1-normal-0.75": (1, 1, 0.4133392866),
    "1v1-additive-0.1": (1, 1, 1.7094379663),
    "1v1-additive-0.75": (1, 1, 0.3333333333),
    "1v1-bimodal-0.75": (1, 1, 0.4133392866),
    "wiggly-1v1-normal-0.75": (1, 1, 0.4133392866),
    "half_cube-1v1-normal-0.75": (1, 1, 0.4133392866),
    "student-identity-1-1-1": (1, 1, 0.2241714275),
    "asinh-student-identity-1-1-1": (1, 1, 0.2241714275),
    "swissroll_x-normal_cdf-1v1-normal-0.75": (2, 1, 0.4133392866),
    "multinormal-dense-2-2-0.5": (2, 2, 0.2938933325),
    "multinormal-dense-3-3-0.5": (3, 3, 0.4133392866),
    "multinormal-dense-5-5-0.5": (5, 5, 0.5928118328),
    "multinormal-dense-25-25-0.5": (25, 25, 1.2921837217),
    "multinormal-dense-50-50-0.5": (50, 50, 1.6242653743),
    "multinormal-sparse-2-2-2-2.0": (2, 2, 1.0216512475),
    "multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475),
    "multinormal-sparse-5-5-2-2.0": (5, 5, 1.0216512475),
    "multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475),
    "student-identity-2-2-1": (2, 2, 0.4319456220),
    "student-identity-2-2-2": (2, 2, 0.1931471806),
    "student-identity-3-3-2": (3, 3, 0.2909219227),
    "student-identity-3-3-3": (3, 3, 0.1787118531),
    "student-identity-5-5-2": (5, 5, 0.4481506769),
    "student-identity-5-5-3": (5, 5, 0.2985436227),
    "normal_cdf-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475),
    "normal_cdf-multinormal-sparse-5-5-2-2.0": (5, 5, 1.0216512475),
    "normal_cdf-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475),
    "half_cube-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475),
    "half_cube-multinormal-sparse-5-5-2-2.0": (5, 5, 1.0216512475),
    "half_cube-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475),
    "spiral-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475),
    "spiral-multinormal-sparse-5-5-2-2.0": (5, 5, 1.0216512475),
    "spiral-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475),
    "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0": (3, 3, 1.0216512475),
    "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0": (5, 5, 1.0216512475),
    "spiral-normal_cdf-multinormal-sparse-25-25-2-2.0": (25, 25, 1.0216512475),
    "asinh-student-identity-2-2-1": (2, 2, 0.4319456220),
    "asinh-student-identity-3-3-2": (3, 3, 0.2909219227),
    "asinh-student-identity-5-5-2": (5, 5, 0.4481506769),
}


def test_v1_list_names_dims_and_mi_match_the_benchmark():
    assert list(data.MI_TASKS_V1) == list(BENCHMARK_V1)
    for name, (dim_x, dim_y, mi) in BENCHMARK_V1.items():
        task = data.mi_task(name)
        assert task.name == name
        assert (task.dim_x, task.dim_y) == (dim_x, dim_y)
        assert task.mutual_information == pytest.approx(mi, abs=1e-6)
        x, y = task.sample(7, seed=0)
        assert x.shape == (7, dim_x) and y.shape == (7, dim_y)
        assert x.dtype == y.dtype == np.float32
        assert np.isfinite(x).all() and np.isfinite(y).all()
    assert data.mi_task("1v1-normal-0.75").mutual_information_bits == (
        pytest.approx(0.4133392866 / math.log(2.0))
    )


def _gaussian_covariance(kind, dim_x, dim_y, param, strength=None):
    # Written from the benchmark's definitions: dense = every correlation
    # equal to `param`; sparse = the first `param` pairs (X_i, Y_i) share a
    # latent of weight s over unit noise, correlation s^2 / (1 + s^2).
    dim = dim_x + dim_y
    if kind == "dense":
        return param * np.ones((dim, dim)) + (1 - param) * np.eye(dim)
    rho = strength**2 / (1 + strength**2)
    cov = np.eye(dim)
    for i in range(param):
        cov[i, dim_x + i] = cov[dim_x + i, i] = rho
    return cov


def _monte_carlo_mi(log_joint, log_px, log_py, x, y):
    pointwise = log_joint(np.concatenate([x, y], axis=1)) - log_px(x)
    pointwise -= log_py(y)
    return pointwise.mean(), pointwise.std() / math.sqrt(len(x))


GAUSSIANS = [
    ("multinormal-dense-3-3-0.5", "dense", (3, 3, 0.5)),
    ("multinormal-dense-5-5-0.5", "dense", (5, 5, 0.5)),
    ("multinormal-sparse-5-5-2-2.0", "sparse", (5, 5, 2, 2.0)),
    ("multinormal-sparse-3-3-1-1.0", "sparse", (3, 3, 1, 1.0)),
]


def test_gaussian_mi_against_scipy_entropies_and_monte_carlo():
    for name, kind, args in GAUSSIANS:
        _check_gaussian(name, kind, args)


def _check_gaussian(name, kind, args):
    task = data.mi_task(name)
    dim_x = args[0]
    cov = _gaussian_covariance(kind, *args)
    joint = stats.multivariate_normal(cov=cov)
    px = stats.multivariate_normal(cov=cov[:dim_x, :dim_x])
    py = stats.multivariate_normal(cov=cov[dim_x:, dim_x:])
    closed = px.entropy() + py.entropy() - joint.entropy()
    assert task.mutual_information == pytest.approx(closed, abs=1e-10)
    # The sampler draws that distribution: covariance and MI by Monte Carlo.
    x, y = task.sample(40_000, seed=1, dtype="float64")
    sample_cov = np.cov(np.concatenate([x, y], axis=1), rowvar=False)
    np.testing.assert_allclose(sample_cov, cov, atol=0.03)
    mc, se = _monte_carlo_mi(joint.logpdf, px.logpdf, py.logpdf, x, y)
    assert abs(mc - closed) < 4 * se + 1e-3


def test_student_mi_against_scipy_entropies_and_monte_carlo():
    for dims, df in (((1, 1), 1), ((2, 2), 1), ((3, 3), 2)):
        _check_student(*dims, df)


def _check_student(dim_x, dim_y, df):
    task = data.mi_task(f"student-identity-{dim_x}-{dim_y}-{df}")

    def t(dim):
        return stats.multivariate_t(shape=np.eye(dim), df=df)

    joint, px, py = t(dim_x + dim_y), t(dim_x), t(dim_y)
    closed = px.entropy() + py.entropy() - joint.entropy()
    assert task.mutual_information == pytest.approx(closed, abs=1e-9)
    x, y = task.sample(40_000, seed=2, dtype="float64")
    mc, se = _monte_carlo_mi(joint.logpdf, px.logpdf, py.logpdf, x, y)
    assert abs(mc - closed) < 4 * se + 1e-3
    # The marginals are Student-t with the same degrees of freedom.
    assert stats.kstest(x[:, 0], stats.t(df).cdf).pvalue > 1e-3


def test_additive_noise_mi_by_numerical_integration():
    for eps in (0.1, 0.5, 0.75, 2.0):
        _check_additive(eps)


def _check_additive(eps):
    # Y = X + U(-eps, eps), X ~ U(0, 1): p_Y is the box convolution
    # (length of [y - eps, y + eps] within [0, 1]) / (2 eps), and
    # I = h(Y) - h(Y | X) = h(Y) - log(2 eps).
    def density(y):
        return max(0.0, min(1.0, y + eps) - max(0.0, y - eps)) / (2 * eps)

    def integrand(y):
        p = density(y)
        return -p * math.log(p) if p > 0 else 0.0

    corners = sorted({-eps, eps, 1 - eps, 1 + eps})
    h_y = sum(
        integrate.quad(integrand, a, b)[0]
        for a, b in zip(corners[:-1], corners[1:])
    )
    task = data.mi_task(f"1v1-additive-{eps}")
    assert task.mutual_information == pytest.approx(
        h_y - math.log(2 * eps), abs=1e-7
    )
    x, y = task.sample(2000, seed=0, dtype="float64")
    assert x.min() >= 0 and x.max() <= 1
    assert np.all(np.abs(y - x) <= eps)


def test_one_dimensional_mi_against_large_sample_ksg():
    # KSG on ranks (MI is unchanged by monotone maps) at N = 20,000 sits
    # within 0.015 nats of the truth on these tasks (measured here).
    for name in (
        "1v1-normal-0.75",
        "1v1-additive-0.1",
        "1v1-additive-0.75",
        "student-identity-1-1-1",
    ):
        task = data.mi_task(name)
        x, y = task.sample(20_000, seed=3, dtype="float64")
        estimate = ksg(stats.rankdata(x, axis=0), stats.rankdata(y, axis=0))
        assert estimate == pytest.approx(task.mutual_information, abs=0.03)


def _invert_spiral(v, plane):
    i, j = plane
    angle = -np.sum(v * v, axis=1) / v.shape[1]  # rotations keep |v|
    out = v.copy()
    out[:, i] = np.cos(angle) * v[:, i] - np.sin(angle) * v[:, j]
    out[:, j] = np.sin(angle) * v[:, i] + np.cos(angle) * v[:, j]
    return out


def _mixture_cdf(t, weights, means):
    return sum(w * stats.norm.cdf(t - m) for w, m in zip(weights, means))


# transformed task, its base, inverse of the x map, inverse of the y map.
INVERTIBLE = [
    (
        "normal_cdf-multinormal-sparse-3-3-2-2.0",
        "multinormal-sparse-3-3-2-2.0",
        special.ndtri,
        special.ndtri,
    ),
    (
        "half_cube-multinormal-sparse-5-5-2-2.0",
        "multinormal-sparse-5-5-2-2.0",
        lambda t: np.sign(t) * np.abs(t) ** (2 / 3),
        lambda t: np.sign(t) * np.abs(t) ** (2 / 3),
    ),
    (
        "asinh-student-identity-3-3-2",
        "student-identity-3-3-2",
        np.sinh,
        np.sinh,
    ),
    (
        "spiral-multinormal-sparse-5-5-2-2.0",
        "multinormal-sparse-5-5-2-2.0",
        lambda v: _invert_spiral(v, (0, 1)),
        lambda v: _invert_spiral(v, (1, 2)),
    ),
    (
        "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0",
        "normal_cdf-multinormal-sparse-3-3-2-2.0",
        lambda v: _invert_spiral(v, (0, 1)),
        lambda v: _invert_spiral(v, (1, 2)),
    ),
    (
        # u = (t / (1.5 pi) - 1) / 2 with t = 21 |point| (t > 0).
        "swissroll_x-normal_cdf-1v1-normal-0.75",
        "normal_cdf-1v1-normal-0.75",
        lambda p: (
            (21 * np.linalg.norm(p, axis=1, keepdims=True) / 1.5 / np.pi - 1)
            / 2
        ),
        lambda t: t,
    ),
    (
        # Bimodal: F^-1(Phi(z)) for the mixtures 0.3 N(0, 1) + 0.7 N(5, 1)
        # and 0.5 N(-1, 1) + 0.5 N(3, 1).
        "1v1-bimodal-0.75",
        "1v1-normal-0.75",
        lambda t: stats.norm.ppf(_mixture_cdf(t, (0.3, 0.7), (0.0, 5.0))),
        lambda t: stats.norm.ppf(_mixture_cdf(t, (0.5, 0.5), (-1.0, 3.0))),
    ),
]


def test_transforms_are_inverted_back_to_the_base_sample():
    # An injective map of x and one of y leave the MI unchanged: recovering
    # the base sample (same seed) from the transformed one proves both.
    for name, base, inv_x, inv_y in INVERTIBLE:
        task, base_task = data.mi_task(name), data.mi_task(base)
        assert task.mutual_information == base_task.mutual_information
        x, y = task.sample(3000, seed=4, dtype="float64")
        bx, by = base_task.sample(3000, seed=4, dtype="float64")
        np.testing.assert_allclose(inv_x(x), bx, atol=1e-6, err_msg=name)
        np.testing.assert_allclose(inv_y(y), by, atol=1e-6, err_msg=name)


def test_wiggly_maps_are_strictly_increasing():
    # No closed-form inverse: check the order is kept on the sample and the
    # derivative stays positive on a fine grid.
    x, y = data.mi_task("wiggly-1v1-normal-0.75").sample(5000, 5, "float64")
    bx, by = data.mi_task("1v1-normal-0.75").sample(5000, 5, "float64")
    for out, base in ((x, bx), (y, by)):
        order = np.argsort(base[:, 0])
        assert np.all(np.diff(out[order, 0]) > 0)
    grid = np.linspace(-8, 8, 200_001)
    for wiggly in (mi_tasks._wiggly_x, mi_tasks._wiggly_y):
        assert np.all(np.diff(wiggly(grid)) > 0)


def test_samples_are_reproducible_per_seed():
    task = data.mi_task("spiral-multinormal-sparse-3-3-2-2.0")
    x1, y1 = task.sample(50, seed=11)
    x2, y2 = task.sample(50, seed=11)
    x3, _ = task.sample(50, seed=12)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(x1, x3)
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    np.testing.assert_array_equal(
        task.sample(5, rng_a)[0], task.sample(5, rng_b)[0]
    )
    x64, _ = task.sample(50, seed=11, dtype="float64")
    assert x64.dtype == np.float64
    np.testing.assert_allclose(x64, x1, rtol=1e-6)


def test_names_are_read_as_numbers_and_spelled_like_the_benchmark():
    task = data.mi_task("half_cube-multinormal-sparse-5-5-2-2")
    assert task.name == "half_cube-multinormal-sparse-5-5-2-2.0"
    assert data.mi_task("1v1-additive-0.10").name == "1v1-additive-0.1"
    # Parameters beyond the v1 list work too.
    task = data.mi_task("asinh-multinormal-dense-10-4-0.2")
    assert (task.dim_x, task.dim_y) == (10, 4)
    assert task.description == "Asinh @ Multinormal 10 × 4 (dense)"
    assert "MITask('asinh-multinormal-dense-10-4-0.2'" in repr(task)


BAD_NAMES = [
    ("1v1-normal-0.57x", "Unknown MI task"),
    ("multinormal-sparse-5-5-2", "Did you mean"),
    ("spiral-1v1-normal-0.75", "dim_x >= 2 and dim_y >= 3"),
    ("swissroll_x-multinormal-dense-2-2-0.5", "dim_x == 1"),
    ("1v1-normal-1.5", r"\(-1, 1\)"),
    ("multinormal-sparse-3-3-4-2.0", "at most min"),
    ("multinormal-dense-5-5--0.5", "positive definite"),
    ("student-identity-2-2-0", "degrees of freedom"),
    ("1v1-additive-0.0", "half-width"),
    ("multinormal-dense-0-2-0.5", "dimensions must be >= 1"),
]


def test_bad_names_give_clear_errors():
    for name, match in BAD_NAMES:
        with pytest.raises(ValueError, match=match):
            data.mi_task(name)


def test_bad_arguments_give_clear_errors():
    with pytest.raises(TypeError, match="task name"):
        data.mi_task(3)
    task = data.mi_task("1v1-normal-0.75")
    for n in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            task.sample(n, seed=0)
    with pytest.raises(TypeError, match="floating dtype"):
        task.sample(4, seed=0, dtype="int32")
