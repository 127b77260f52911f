"""scale_loss / unscale_loss and how they combine with Keras's own scaling."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import distribute

DEVICES = ["/cpu:0", "/cpu:1"]


def test_single_replica_is_identity():
    loss = tf.constant(3.0)
    np.testing.assert_allclose(distribute.scale_loss(loss), 3.0)
    np.testing.assert_allclose(distribute.unscale_loss(loss), 3.0)


def test_two_replicas_divide_by_two_and_keep_dtype():
    strategy = distribute.get_strategy(DEVICES)

    @tf.function
    def step():
        half = tf.constant(3.0, tf.float16)
        return (
            distribute.scale_loss(tf.constant(3.0)),
            distribute.unscale_loss(tf.constant(3.0)),
            distribute.scale_loss(half),
        )

    scaled, unscaled, half = strategy.run(step)
    for s, u, h in zip(
        *(
            strategy.experimental_local_results(v)
            for v in (scaled, unscaled, half)
        )
    ):
        np.testing.assert_allclose(s.numpy(), 1.5)
        np.testing.assert_allclose(u.numpy(), 6.0)
        assert h.dtype == tf.float16
        np.testing.assert_allclose(h.numpy(), 1.5)


def test_keras_losses_are_already_scaled():
    """Documents the rule: do not scale a keras.losses.Loss value again."""
    strategy = distribute.get_strategy(DEVICES)
    mse = keras.losses.MeanSquaredError()
    y = tf.constant([[1.0], [3.0]])

    @tf.function
    def step():
        by_keras = mse(y, tf.zeros_like(y))  # mean 5, scaled by Keras
        by_hand = distribute.scale_loss(tf.reduce_mean(tf.square(y)))
        return by_keras, by_hand

    by_keras, by_hand = strategy.run(step)
    for a, b in zip(
        strategy.experimental_local_results(by_keras),
        strategy.experimental_local_results(by_hand),
    ):
        np.testing.assert_allclose(a.numpy(), 2.5)
        np.testing.assert_allclose(b.numpy(), 2.5)


def test_integer_loss_is_refused():
    with pytest.raises(TypeError, match="floating"):
        distribute.scale_loss(tf.constant(3))
    with pytest.raises(TypeError, match="floating"):
        distribute.unscale_loss(3)
