import math

import numpy as np
import pytest

from keras_infomin import data
from keras_infomin import estimators


def _reference_canonical_correlations(x, y):
    # rho_i^2 = eigenvalues of Sxx^-1 Sxy Syy^-1 Syx (sample covariances).
    dx = x.shape[1]
    cov = np.cov(np.concatenate([x, y], axis=1), rowvar=False)
    sxx, syy, sxy = cov[:dx, :dx], cov[dx:, dx:], cov[:dx, dx:]
    m = np.linalg.solve(sxx, sxy) @ np.linalg.solve(syy, sxy.T)
    eig = np.sort(np.linalg.eigvals(m).real)[::-1]
    return np.sqrt(np.clip(eig[: min(dx, y.shape[1])], 0, 1))


def test_canonical_correlations_match_the_covariance_eigenproblem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 4))
    y = x[:, :3] @ rng.standard_normal((3, 3)) + rng.standard_normal((500, 3))
    got = estimators.canonical_correlations(x, y)
    np.testing.assert_allclose(
        got, _reference_canonical_correlations(x, y), atol=1e-10
    )
    rho = got
    assert estimators.cca(x, y) == pytest.approx(
        -0.5 * np.sum(np.log(1 - rho**2)), abs=1e-12
    )


def test_exact_on_gaussians_at_large_n():
    for name in ("multinormal-dense-5-5-0.5", "multinormal-sparse-5-5-2-2.0"):
        task = data.mi_task(name)
        x, y = task.sample(200_000, seed=1, dtype="float64")
        # Small-sample bias ~ dx dy / (2N) = 6e-5 nats here.
        assert estimators.cca(x, y) == pytest.approx(
            task.mutual_information, abs=0.01
        )


def test_invariant_under_invertible_affine_maps():
    rng = np.random.default_rng(2)
    x, y = data.mi_task("multinormal-dense-3-3-0.5").sample(1000, 2, "float64")
    a = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    b = rng.standard_normal((3, 3)) + 3 * np.eye(3)
    assert estimators.cca(x @ a + 1.0, y @ b - 5.0) == pytest.approx(
        estimators.cca(x, y), abs=1e-9
    )


def test_small_sample_bias_of_independent_variables():
    # E[I_CCA] ~ dx dy / (2N) when x and y are independent.
    n, dx, dy = 400, 3, 4
    values = [
        estimators.cca(
            *(
                np.random.default_rng(s).standard_normal((n, d))
                for d in (dx, dy)
            )
        )
        for s in range(20)
    ]
    assert np.mean(values) == pytest.approx(dx * dy / (2 * n), rel=0.25)


def test_exact_linear_relation_is_infinite():
    x = np.random.default_rng(3).standard_normal((50, 2))
    assert estimators.cca(x, x @ np.array([[1.0], [2.0]])) == math.inf


BAD_INPUT = [
    (np.ones((10, 2)), np.ones((9, 1)), "same number of rows"),
    (np.arange(3.0), np.arange(3.0), "At least 5"),
    (np.arange(10.0), np.r_[np.inf, np.arange(9.0)], "infinite"),
    (np.c_[np.arange(10.0), np.ones(10)], np.arange(10.0), "constant"),
    (
        np.random.default_rng(0).random((8, 4)),
        np.random.default_rng(1).random((8, 3)),
        "more rows",
    ),
    (
        np.c_[np.arange(20.0), 2 * np.arange(20.0)],
        np.random.default_rng(0).random(20),
        "linearly dependent",
    ),
]


def test_bad_input_gives_clear_errors():
    for x, y, match in BAD_INPUT:
        with pytest.raises(ValueError, match=match):
            estimators.cca(x, y)
