import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin.testing import run_layer_test


def _numpy_mean_and_variance(q, x):
    h = np.asarray(x, np.float64)
    for layer in q.trunk:
        h = np.maximum(h @ layer.kernel.numpy() + layer.bias.numpy(), 0.0)
    mean = h @ q.mean_head.kernel.numpy() + q.mean_head.bias.numpy()
    raw = h @ q.variance_head.kernel.numpy() + q.variance_head.bias.numpy()
    return mean, np.logaddexp(0.0, raw) + q.min_variance


def test_log_densities_match_scipy_for_every_pair():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 3)).astype("float32")
    y = rng.normal(size=(7, 2)).astype("float32")
    q = critics.GaussianConditional(hidden_units=(8, 6))
    got = q(x, y).numpy()
    mean, variance = _numpy_mean_and_variance(q, x)
    expected = np.array(
        [
            [
                stats.multivariate_normal(mean[i], np.diag(variance[i])).logpdf(
                    y[j].astype("float64")
                )
                for j in range(7)
            ]
            for i in range(5)
        ]
    )
    assert got.shape == (5, 7)
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_log_densities_are_capped_by_the_variance_floor():
    q = critics.GaussianConditional(hidden_units=(4,), min_variance=1e-2)
    x = np.random.default_rng(1).normal(size=(6, 2)).astype("float32")
    with pytest.raises(ValueError, match="call the layer"):
        q.mean_and_variance(x)
    q(x, x)
    mean, _ = q.mean_and_variance(x)
    log_q = q(x, mean.numpy()).numpy()
    assert np.all(log_q <= -0.5 * 2 * math.log(2 * math.pi * 1e-2) + 1e-4)


def test_fitting_the_log_likelihood_recovers_the_conditional():
    # y = 0.8 x + 0.6 e: maximising E_p log q(y | x) over a linear-Gaussian
    # q finds mean 0.8 x and variance 0.36.
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2000, 1)).astype("float32")
    y = (0.8 * x + 0.6 * rng.normal(size=(2000, 1))).astype("float32")
    q = critics.GaussianConditional(hidden_units=())
    q(x[:2], y[:2])
    optimizer = keras.optimizers.Adam(0.1)
    optimizer.build(q.trainable_weights)

    @tf.function
    def step(xb, yb):
        with tf.GradientTape() as tape:
            loss = -bounds.conditional_log_likelihood(q(xb, yb))
        grads = tape.gradient(loss, q.trainable_weights)
        optimizer.apply(grads, q.trainable_weights)

    for i in range(150):
        start = 250 * (i % 8)
        step(x[start : start + 250], y[start : start + 250])
    mean, variance = q.mean_and_variance(np.array([[1.0], [-2.0]], "float32"))
    np.testing.assert_allclose(mean.numpy()[:, 0], [0.8, -1.6], atol=0.08)
    np.testing.assert_allclose(variance.numpy(), 0.36, atol=0.06)


def test_mixed_precision_log_densities_are_float32():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(5, 3)).astype("float32")
    y = (30.0 * rng.normal(size=(6, 2))).astype("float32")
    full = critics.GaussianConditional(hidden_units=(8,), min_variance=1e-3)
    mixed = critics.GaussianConditional(
        hidden_units=(8,), min_variance=1e-3, dtype="mixed_bfloat16"
    )
    expected = full(x, y).numpy()
    mixed(x, y)
    mixed.set_weights(full.get_weights())
    got = mixed(x, y)
    assert keras.backend.standardize_dtype(got.dtype) == "float32"
    assert np.all(np.isfinite(got.numpy()))
    np.testing.assert_allclose(got.numpy(), expected, rtol=0.05)


def test_argument_errors():
    with pytest.raises(ValueError, match="min_variance"):
        critics.GaussianConditional(min_variance=0.0)
    q = critics.GaussianConditional()
    with pytest.raises(ValueError, match="at least as many rows"):
        q(np.ones((4, 2), "float32"), np.ones((3, 2), "float32"))


def test_registry_and_layer_contract():
    assert isinstance(
        critics.get("gaussian_conditional"), critics.GaussianConditional
    )
    rng = np.random.default_rng(3)
    inputs = (
        rng.normal(size=(4, 3)).astype("float32"),
        rng.normal(size=(5, 2)).astype("float32"),
    )
    run_layer_test(critics.GaussianConditional(hidden_units=(6,)), inputs)
