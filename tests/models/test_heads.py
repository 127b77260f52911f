"""ProjectionHead: the MLP it documents (checked with numpy, with and
without batch normalisation), the layer contract (config, registry, `.keras`
save/load, one training step) and its argument checks."""

import keras
import numpy as np
import pytest

from keras_infomin import models
from keras_infomin.testing import run_layer_test


def _inputs(n=6, dim=5, seed=0):
    return np.random.default_rng(seed).normal(size=(n, dim)).astype("float32")


def _dense(layer, x):
    kernel = keras.ops.convert_to_numpy(layer.kernel).astype("float64")
    out = x @ kernel
    if layer.use_bias:
        out = out + keras.ops.convert_to_numpy(layer.bias)
    return out


def _relu(x):
    return np.maximum(x, 0.0)


def test_forward_is_dense_relu_then_a_linear_output():
    x = _inputs()
    head = models.ProjectionHead(hidden_units=(7, 4), output_dim=3)
    got = keras.ops.convert_to_numpy(head(x))
    dense = [block[0] for block in head.blocks]
    h = x.astype("float64")
    for layer in dense:
        assert layer.use_bias
        h = _relu(_dense(layer, h))
    expected = _dense(head.output_layer, h)
    assert got.shape == (6, 3)
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert head.compute_output_shape((None, 5)) == (None, 3)


def test_batch_norm_uses_moving_statistics_in_inference():
    x = _inputs(seed=1)
    head = models.ProjectionHead(
        hidden_units=(4,), output_dim=2, batch_norm=True
    )
    head(x)
    dense, bn, _ = head.blocks[0]
    assert not dense.use_bias  # the batch norm's beta is the bias
    rng = np.random.default_rng(2)
    gamma, beta = rng.normal(size=4), rng.normal(size=4)
    mean, var = rng.normal(size=4), rng.uniform(0.5, 2.0, size=4)
    for variable, value in zip(
        (bn.gamma, bn.beta, bn.moving_mean, bn.moving_variance),
        (gamma, beta, mean, var),
    ):
        variable.assign(value.astype("float32"))
    h = _dense(dense, x.astype("float64"))
    h = _relu(gamma * (h - mean) / np.sqrt(var + bn.epsilon) + beta)
    expected = _dense(head.output_layer, h)
    got = keras.ops.convert_to_numpy(head(x, training=False))
    np.testing.assert_allclose(got, expected, atol=1e-5)
    # In training the batch's own statistics are used instead.
    h = _dense(dense, x.astype("float64"))
    h = (h - h.mean(0)) / np.sqrt(h.var(0) + bn.epsilon)
    expected = _dense(head.output_layer, _relu(gamma * h + beta))
    got = keras.ops.convert_to_numpy(head(x, training=True))
    np.testing.assert_allclose(got, expected, atol=1e-4)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"hidden_units": (8,), "output_dim": 4},
        {
            "hidden_units": (8, 6),
            "output_dim": 3,
            "batch_norm": True,
            "activation": "gelu",
        },
    ],
)
def test_layer_contract_and_keras_file_round_trip(kwargs):
    x = _inputs(n=8)
    head = models.ProjectionHead(**kwargs)
    out = run_layer_test(head, (x,))
    assert out.shape == (8, kwargs["output_dim"])


def test_keras_file_round_trip_keeps_trained_statistics(tmp_path):
    x = _inputs(n=16, seed=3)
    inputs = keras.Input((5,))
    head = models.ProjectionHead((6,), 3, batch_norm=True)
    model = keras.Model(inputs, head(inputs))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    target = np.random.default_rng(4).normal(size=(16, 3))
    model.fit(x, target, batch_size=8, epochs=2, verbose=0)
    bn = head.blocks[0][1]
    # Training moved the moving statistics away from their (0, 1) start.
    assert not np.allclose(keras.ops.convert_to_numpy(bn.moving_mean), 0.0)
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    path = str(tmp_path / "head.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    restored = loaded.layers[-1]
    assert isinstance(restored, models.ProjectionHead)
    assert restored.get_config() == head.get_config()
    for a, b in zip(restored.get_weights(), head.get_weights()):
        np.testing.assert_array_equal(a, b)
    got = keras.ops.convert_to_numpy(loaded(x, training=False))
    np.testing.assert_allclose(got, expected, atol=1e-6)
    # A head rebuilt from the config alone computes something else.
    fresh = models.ProjectionHead.from_config(head.get_config())
    assert not np.allclose(
        keras.ops.convert_to_numpy(fresh(x, training=False)), expected
    )


def test_bad_arguments():
    with pytest.raises(ValueError, match="hidden_units"):
        models.ProjectionHead(hidden_units=(8, 0))
    with pytest.raises(ValueError, match="output_dim"):
        models.ProjectionHead(hidden_units=(8,), output_dim=0)
