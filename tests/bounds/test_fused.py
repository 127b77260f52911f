import math

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import bounds


def _grads(fn, x, y):
    x = tf.constant(x)
    y = tf.constant(y)
    with tf.GradientTape() as tape:
        tape.watch([x, y])
        value = fn(x, y)
    gx, gy = tape.gradient(value, [x, y])
    return float(value), gx.numpy(), gy.numpy()


def _unfused(x, y, symmetric=False):
    scores = tf.matmul(x, y, transpose_b=True)
    value = bounds.infonce(scores)
    if symmetric:
        value = 0.5 * (value + bounds.infonce(tf.transpose(scores)))
    return value


@pytest.mark.parametrize("n,m", [(2, 2), (16, 16), (8, 20)])
def test_value_and_gradients_match_autodiff_of_the_plain_form(n, m):
    rng = np.random.default_rng(n + m)
    x = rng.normal(size=(n, 5)).astype("float32")
    y = rng.normal(size=(m, 5)).astype("float32")
    fused = _grads(bounds.infonce_dot, x, y)
    plain = _grads(_unfused, x, y)
    assert fused[0] == pytest.approx(plain[0], abs=1e-5)
    np.testing.assert_allclose(fused[1], plain[1], atol=1e-5)
    np.testing.assert_allclose(fused[2], plain[2], atol=1e-5)


def test_symmetric_matches_mean_of_row_and_column_bounds():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(12, 4)).astype("float32")
    y = rng.normal(size=(12, 4)).astype("float32")
    fused = _grads(lambda a, b: bounds.infonce_dot(a, b, symmetric=True), x, y)
    plain = _grads(lambda a, b: _unfused(a, b, symmetric=True), x, y)
    assert fused[0] == pytest.approx(plain[0], abs=1e-5)
    np.testing.assert_allclose(fused[1], plain[1], atol=1e-5)
    np.testing.assert_allclose(fused[2], plain[2], atol=1e-5)


def test_inside_tf_function_and_with_large_scores():
    rng = np.random.default_rng(2)
    x = (100.0 * rng.normal(size=(8, 3))).astype("float32")
    value, gx, gy = _grads(tf.function(bounds.infonce_dot), x, x)
    assert value <= math.log(8) + 1e-6
    assert np.all(np.isfinite(gx)) and np.all(np.isfinite(gy))


def test_bfloat16_inputs_give_float32_value_close_to_float32():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(32, 8)).astype("float32")
    y = x + 0.1 * rng.normal(size=(32, 8)).astype("float32")
    ref = float(bounds.infonce_dot(x, y))
    low = bounds.infonce_dot(tf.cast(x, tf.bfloat16), tf.cast(y, tf.bfloat16))
    assert low.dtype == tf.float32
    assert float(low) == pytest.approx(ref, abs=0.05)
    xb = tf.cast(x, tf.bfloat16)
    with tf.GradientTape() as tape:
        tape.watch(xb)
        value = bounds.infonce_dot(xb, tf.cast(y, tf.bfloat16))
    assert tape.gradient(value, xb).dtype == tf.bfloat16


def test_bad_inputs():
    x = np.zeros((4, 3), "float32")
    with pytest.raises(ValueError, match="same embedding size"):
        bounds.infonce_dot(x, np.zeros((4, 5), "float32"))
    with pytest.raises(ValueError, match="at least as many rows"):
        bounds.infonce_dot(x, np.zeros((3, 3), "float32"))
    with pytest.raises(ValueError, match="symmetric"):
        bounds.infonce_dot(x, np.zeros((6, 3), "float32"), symmetric=True)
    with pytest.raises(ValueError, match="at least one negative"):
        bounds.infonce_dot(x[:1], x[:1])
    with pytest.raises(TypeError, match="floating-point"):
        bounds.infonce_dot(x.astype("int32"), x.astype("int32"))
    with pytest.raises(ValueError, match="rank 2"):
        bounds.infonce_dot(x[None], x[None])
