import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin.testing import run_layer_test


def test_scores_are_x_w_y():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3)).astype("float32")
    y = rng.normal(size=(6, 5)).astype("float32")
    critic = critics.Bilinear()
    got = critic(x, y).numpy()
    w = critic.kernel.numpy()
    np.testing.assert_allclose(got, x @ w @ y.T, rtol=1e-5, atol=1e-5)


def test_identity_init_is_the_inner_product():
    x = np.random.default_rng(1).normal(size=(4, 3)).astype("float32")
    got = critics.Bilinear(kernel_initializer="identity")(x, x).numpy()
    np.testing.assert_allclose(got, x @ x.T, rtol=1e-5, atol=1e-5)


def test_layer_contract():
    rng = np.random.default_rng(2)
    inputs = (
        rng.normal(size=(4, 3)).astype("float32"),
        rng.normal(size=(4, 5)).astype("float32"),
    )
    run_layer_test(critics.Bilinear(kernel_regularizer="l2"), inputs)


def test_inside_a_subclassed_model_trained_on_a_bound():
    class Estimator(keras.Model):
        def __init__(self):
            super().__init__()
            self.critic = critics.Bilinear()

        def call(self, inputs):
            return self.critic(*inputs)

    rng = np.random.default_rng(3)
    x = rng.normal(size=(32, 2)).astype("float32")
    y = x + 0.1 * rng.normal(size=(32, 2)).astype("float32")
    model = Estimator()
    model((x, y))
    optimizer = keras.optimizers.Adam(0.05)
    values = []
    for _ in range(60):
        with tf.GradientTape() as tape:
            value = bounds.infonce(model((x, y)))
            loss = -value
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply(grads, model.trainable_weights)
        values.append(float(value))
    assert values[-1] > values[0] + 1.0


def test_unknown_feature_size_is_refused():
    with pytest.raises(ValueError, match="known feature sizes"):
        critics.Bilinear().build((None, None), (None, 3))
