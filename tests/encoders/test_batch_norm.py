import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.encoders import BatchNormalization


def _train_step(layer, x, **kwargs):
    """Output, gradients (input, gamma, beta) and moving statistics."""
    x = tf.constant(x)
    weights = tf.range(1, x.shape[-1] + 1, dtype="float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True, **kwargs)
        loss = tf.reduce_sum(tf.cast(y, "float32") ** 2 * weights)
        loss += tf.reduce_sum(tf.cast(y, "float32")[..., :1] * 3.0)
    grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
    return [
        np.asarray(v, "float32")
        for v in (y, *grads, layer.moving_mean, layer.moving_variance)
    ]


def _pair(x_shape, policy, **kwargs):
    layers = [
        keras.layers.BatchNormalization(momentum=0.8, dtype=policy, **kwargs),
        BatchNormalization(momentum=0.8, dtype=policy, **kwargs),
    ]
    rng = np.random.default_rng(1)
    channels = x_shape[kwargs.get("axis", -1)]
    gamma = rng.uniform(0.5, 2.0, channels).astype("float32")
    beta = rng.normal(size=channels).astype("float32")
    for layer in layers:
        layer.build(x_shape)
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
    return layers


@pytest.mark.parametrize(
    "policy, tol", [("float32", 1e-4), ("mixed_bfloat16", 3e-2)]
)
def test_fused_training_matches_keras(policy, tol):
    x = np.random.default_rng(0).normal(2.0, 3.0, (4, 5, 5, 3))
    x = x.astype("float32")
    keras_layer, layer = _pair(x.shape, policy)
    expected = _train_step(keras_layer, x)
    got = _train_step(layer, x)
    names = ["y", "dx", "dgamma", "dbeta", "moving_mean", "moving_var"]
    for name, e, g in zip(names, expected, got):
        scale = max(1.0, float(np.max(np.abs(e))))
        np.testing.assert_allclose(g, e, atol=tol * scale, err_msg=name)
    # The moving variance averages the biased batch variance (as Keras).
    biased = x.var(axis=(0, 1, 2))
    np.testing.assert_allclose(
        got[5], 0.8 + 0.2 * biased, rtol=1e-4 if policy == "float32" else 2e-2
    )


def test_fused_training_emits_the_fused_kernel():
    layer = BatchNormalization()
    layer.build((2, 3, 3, 4))
    graph = (
        tf.function(lambda x: layer(x, training=True))
        .get_concrete_function(tf.TensorSpec((2, 3, 3, 4)))
        .graph
    )
    ops = {op.type for op in graph.get_operations()}
    assert "FusedBatchNormV3" in ops


@pytest.mark.parametrize(
    "shape, kwargs",
    [
        ((6, 5), {}),
        ((2, 3, 3, 4), {"axis": 1}),
        ((2, 3, 3, 4), {"renorm": True}),
    ],
)
def test_other_cases_are_keras_own(shape, kwargs):
    x = np.random.default_rng(2).normal(size=shape).astype("float32")
    keras_layer, layer = _pair(shape, "float32", **kwargs)
    for e, g in zip(_train_step(keras_layer, x), _train_step(layer, x)):
        np.testing.assert_allclose(g, e, rtol=1e-5, atol=1e-5)


def test_inference_uses_moving_statistics_and_config_round_trips():
    layer = BatchNormalization(momentum=0.5, epsilon=1e-3)
    layer.build((None, 2, 2, 3))
    layer.moving_mean.assign([1.0, 2.0, 3.0])
    layer.moving_variance.assign([4.0, 4.0, 4.0])
    x = np.full((1, 2, 2, 3), 3.0, "float32")
    y = layer(x, training=False)
    np.testing.assert_allclose(
        y[0, 0, 0], (3.0 - np.array([1.0, 2.0, 3.0])) / np.sqrt(4.001)
    )
    clone = BatchNormalization.from_config(layer.get_config())
    assert isinstance(clone, BatchNormalization)
    assert (clone.momentum, clone.epsilon) == (0.5, 1e-3)
