"""The drop-in losses under MirroredStrategy match one replica.

A plain Keras functional model outputs two embeddings; compiled with a loss
of `keras_infomin.losses`, it is trained through `fit` on one replica and
on two (logical CPUs) from the same weights on the same global batches of
16 then 13 rows (7 + 6 between the replicas). The losses gather the
embeddings of every replica, so the two runs must take the same steps:
the same logged losses and metric, the same weights and optimizer slots.
With `gather=False` each replica scores only its own rows, and the steps
differ: the check can fail.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import distribute
from keras_infomin import losses
from keras_infomin import metrics
from keras_infomin import models
from tests.distribute import toy

DEVICES = ["/cpu:0", "/cpu:1"]


def _model(loss, output):
    x_in, y_in = keras.Input((3,)), keras.Input((3,))
    zx = keras.layers.Dense(4, use_bias=False, name="f")(x_in)
    zy = keras.layers.Dense(4, use_bias=False, name="g")(y_in)
    if output == "stacked":
        model = keras.Model([x_in, y_in], keras.ops.stack([zx, zy], axis=1))
    else:
        model = models.PairModel([x_in, y_in], [zx, zy])
    model.set_weights(toy.initial_weights())
    model.compile(
        optimizer=keras.optimizers.SGD(0.1, momentum=0.9),
        loss=loss,
        metrics=[metrics.MutualInformation("infonce", temperature=0.5)],
    )
    return model


def _fit(strategy, make_loss, output="stacked"):
    x, y = toy.make_pairs(n=29)
    with strategy.scope():
        model = _model(make_loss(), output)
    data = tf.data.Dataset.from_tensor_slices(((x, y),)).batch(16)
    history = model.fit(data, epochs=2, shuffle=False, verbose=0).history
    return model, history


@pytest.mark.parametrize(
    "make_loss, output",
    [
        (lambda: losses.InfoNCE(temperature=0.5), "stacked"),
        (lambda: losses.InfoNCE(temperature=0.5, symmetric=True), "list"),
        (lambda: losses.NWJ(temperature=2.0), "stacked"),
        (lambda: losses.DV(temperature=2.0, target=0.5), "list"),
    ],
)
def test_two_replicas_equal_one_replica_on_the_global_batch(make_loss, output):
    ref, ref_history = _fit(tf.distribute.get_strategy(), make_loss, output)
    model, history = _fit(distribute.get_strategy(DEVICES), make_loss, output)
    for key, values in ref_history.items():
        np.testing.assert_allclose(
            history[key], values, rtol=1e-5, atol=1e-5, err_msg=key
        )
    for w, r, w0 in zip(
        model.get_weights(), ref.get_weights(), toy.initial_weights()
    ):
        np.testing.assert_allclose(w, r, atol=1e-5)
        assert not np.allclose(r, w0, atol=1e-3)  # it trained
    for var, ref_var in zip(model.optimizer.variables, ref.optimizer.variables):
        np.testing.assert_allclose(var.numpy(), ref_var.numpy(), atol=1e-5)


def test_local_negatives_differ_from_one_replica():
    def make_loss(gather):
        return lambda: losses.InfoNCE(temperature=0.5, gather=gather)

    _, ref_history = _fit(tf.distribute.get_strategy(), make_loss(True))
    _, history = _fit(distribute.get_strategy(DEVICES), make_loss(False))
    assert not np.allclose(history["loss"], ref_history["loss"], atol=1e-3)
