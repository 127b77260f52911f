import importlib
import math

import numpy as np
import pytest
from scipy import special
from sklearn.feature_selection import mutual_info_regression

from keras_infomin import estimators


def _gaussian_pair(n, rho, dim=1, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim))
    y = rho * x + math.sqrt(1 - rho * rho) * rng.standard_normal((n, dim))
    return x, y, -0.5 * dim * math.log1p(-rho * rho)


def _brute_force_ksg(x, y, k, metric):
    # All pairwise distances; joint = max(d_x, d_y); eps_i = k-th smallest
    # joint distance over j != i; n_x(i) = #{j != i : d_x(i, j) < eps_i}.
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean(0)) / y.std(0)

    def distances(v):
        diff = v[:, None, :] - v[None, :, :]
        if metric == "chebyshev":
            return np.abs(diff).max(-1)
        return np.sqrt((diff**2).sum(-1))

    dx, dy = distances(x), distances(y)
    joint = np.maximum(dx, dy)
    np.fill_diagonal(joint, np.inf)
    eps = np.sort(joint, axis=1)[:, k - 1]
    np.fill_diagonal(dx, np.inf)
    np.fill_diagonal(dy, np.inf)
    nx = (dx < eps[:, None]).sum(1)
    ny = (dy < eps[:, None]).sum(1)
    n = len(x)
    return (
        special.digamma(k)
        + special.digamma(n)
        - np.mean(special.digamma(nx + 1) + special.digamma(ny + 1))
    )


def test_matches_brute_force_numpy():
    cases = [
        (1, (1, 1), "chebyshev", "kd_tree"),
        (5, (2, 3), "chebyshev", "kd_tree"),
        (10, (3, 1), "chebyshev", "brute"),
        (5, (2, 3), "euclidean", "brute"),
        (3, (4, 2), "euclidean", "auto"),
    ]
    for k, dims, metric, algorithm in cases:
        rng = np.random.default_rng(k)
        x = rng.standard_normal((300, dims[0]))
        y = np.tanh(x[:, :1]) + 0.5 * rng.standard_normal((300, dims[1]))
        got = estimators.ksg(x, y, k=k, metric=metric, algorithm=algorithm)
        expected = _brute_force_ksg(x, y, k, metric)
        assert got == pytest.approx(expected, abs=1e-10)


def test_search_algorithms_agree_in_many_dimensions(monkeypatch):
    # Blocks of a few rows exercise the blocked pairwise search.
    module = importlib.import_module("keras_infomin.estimators.ksg")
    monkeypatch.setattr(module, "_BLOCK", 7 * 500)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((500, 6))
    y = x[:, :3] + rng.standard_normal((500, 3))
    kd_tree = estimators.ksg(x, y, algorithm="kd_tree")
    assert estimators.ksg(x, y, algorithm="brute") == pytest.approx(
        kd_tree, abs=1e-10
    )


def test_matches_scikit_learn_for_one_dimensional_y():
    # scikit-learn's mutual_info_regression is KSG estimator 1 too (it adds
    # noise of relative size 1e-10 and scales the columns).
    x, y, _ = _gaussian_pair(2000, 0.6, seed=1)
    reference = mutual_info_regression(
        x, y[:, 0], n_neighbors=3, random_state=0
    )
    assert estimators.ksg(x, y, k=3) == pytest.approx(reference[0], abs=1e-4)


def test_gaussians_within_the_known_small_sample_bias():
    # In one or two dimensions KSG's bias at N = 2,000 is a few hundredths
    # of a nat (Kraskov et al. 2004, Fig. 4); averaged over 4 samples.
    for rho, dim in ((0.5, 1), (0.9, 1), (0.6, 2)):
        values = []
        for seed in range(4):
            x, y, true_mi = _gaussian_pair(2000, rho, dim, seed)
            values.append(estimators.ksg(x, y))
        assert np.mean(values) == pytest.approx(true_mi, abs=0.03)


def test_independent_variables_read_zero():
    # Unbiased at I = 0; the estimate is not clipped and can be negative.
    values = [
        estimators.ksg(*np.random.default_rng(s).standard_normal((2, 1000)))
        for s in range(8)
    ]
    assert abs(np.mean(values)) < 0.01
    assert min(values) < 0


def test_invariant_under_affine_and_close_under_monotone_maps():
    x, y, true_mi = _gaussian_pair(5000, 0.75, seed=3)
    base = estimators.ksg(x, y)
    # Per-column affine maps (any sign): exactly the same neighbours.
    assert estimators.ksg(-3.0 * x + 7.0, 0.01 * y - 2.0) == pytest.approx(
        base, abs=1e-10
    )
    # Non-linear monotone maps change the distances, not the MI: the
    # estimate moves by little on smooth maps.
    for fx, fy in ((np.tanh, np.arcsinh), (np.exp, lambda t: t + t**3 / 3)):
        assert estimators.ksg(fx(x), fy(y)) == pytest.approx(base, abs=0.05)
    assert base == pytest.approx(true_mi, abs=0.03)


def test_without_standardizing_the_scales_matter():
    x, y, _ = _gaussian_pair(1000, 0.75, seed=4)
    scaled = estimators.ksg(x, 100.0 * y, standardize=False)
    assert scaled < estimators.ksg(x, 100.0 * y) - 0.1


BAD_INPUT = [
    (np.ones((10, 2)), np.ones((9, 1)), {}, "same number of rows"),
    (np.arange(4.0), np.arange(4.0), {"k": 1}, "At least 5"),
    (np.r_[np.arange(9.0), np.nan], np.arange(10.0), {}, "NaN"),
    (np.c_[np.arange(10.0), np.ones(10)], np.arange(10.0), {}, "constant"),
    (np.arange(10.0), np.arange(10.0) ** 2, {"k": 10}, "smaller than"),
    (np.arange(10.0), np.arange(10.0) ** 2, {"k": 0}, "positive integer"),
    (np.zeros((10, 2, 2)), np.arange(10.0), {}, "features"),
    (np.arange(10.0), np.arange(10.0) ** 2, {"metric": "l1"}, "metric"),
    (np.arange(10.0), np.arange(10.0), {"algorithm": "ball"}, "algorithm"),
    (
        np.arange(10.0),
        np.arange(10.0) ** 2,
        {"metric": "euclidean", "algorithm": "kd_tree"},
        "chebyshev",
    ),
]


def test_bad_input_gives_clear_errors():
    for x, y, kwargs, match in BAD_INPUT:
        with pytest.raises(ValueError, match=match):
            estimators.ksg(x, y, **kwargs)


def test_repeated_points_and_non_numbers_are_refused():
    x = np.repeat(np.arange(5.0), 4)
    with pytest.raises(ValueError, match="duplicates"):
        estimators.ksg(x, x, k=3)
    with pytest.raises(TypeError, match="real numbers"):
        estimators.ksg(np.array(list("abcdefgh")), np.arange(8.0))


def test_registry():
    assert estimators.get("ksg") is estimators.ksg
    assert estimators.get(estimators.cca) is estimators.cca
    with pytest.raises(ValueError, match="Unknown estimator"):
        estimators.get("kde")
