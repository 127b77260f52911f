import keras
import numpy as np
import pytest

from keras_infomin.encoders import MLP
from keras_infomin.testing import run_layer_test


def _numpy_mlp(layer, x, activation=lambda z: np.maximum(z, 0.0)):
    """Reference forward pass written from the layer's weights."""
    h = x
    last = len(layer._dense) - 1
    for i, dense in enumerate(layer._dense):
        w, b = (np.asarray(v) for v in dense.weights)
        z = h @ w + b
        is_output = layer.output_dim is not None and i == last
        if not is_output:
            norm = layer._norms[i]
            if norm is not None:
                gamma, beta = (np.asarray(v) for v in norm.weights)
                mu = z.mean(-1, keepdims=True)
                var = z.var(-1, keepdims=True)
                z = (z - mu) / np.sqrt(var + norm.epsilon) * gamma + beta
            z = activation(z)
        same = h.shape[-1] == z.shape[-1]
        h = h + z if (layer.residual and same) else z
    return h


def test_layer_contract():
    x = np.random.normal(size=(4, 8)).astype("float32")
    run_layer_test(
        MLP([8, 16], output_dim=4, residual=True, layer_norm=True), (x,)
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(hidden_units=[16, 16], output_dim=4),
        dict(hidden_units=[8, 16, 16], output_dim=16, residual=True),
        dict(hidden_units=[8, 8], residual=True, layer_norm=True),
    ],
)
def test_matches_numpy_reference(kwargs):
    x = np.random.normal(size=(5, 8)).astype("float32")
    layer = MLP(**kwargs)
    got = np.asarray(layer(x))
    np.testing.assert_allclose(got, _numpy_mlp(layer, x), atol=1e-5)


def test_shortcuts_only_where_widths_agree():
    layer = MLP([8, 16, 16], output_dim=4, residual=True)
    layer.build((None, 8))
    assert list(layer._shortcut) == [True, False, True, False]


def test_near_identity_residual_init():
    # Tschannen et al. E3: 5 x 392 residual MLP initialised near identity.
    x = np.random.uniform(size=(16, 392)).astype("float32")
    near = MLP([392] * 5, residual=True, residual_init_std=1e-4)
    plain = MLP([392] * 5, residual=True)
    err_near = np.abs(np.asarray(near(x)) - x).max()
    err_plain = np.abs(np.asarray(plain(x)) - x).max()
    assert err_near < 1e-2
    assert err_plain > 100 * err_near
    # The Jacobian at init is close to the identity matrix.
    jac = np.linalg.svd(
        np.asarray(
            keras.ops.convert_to_numpy(_jacobian(near, x[:1])),
        ),
        compute_uv=False,
    )
    assert jac.max() < 1.05 and jac.min() > 0.95


def _jacobian(layer, x):
    import tensorflow as tf

    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    return tape.jacobian(y, x)[0, :, 0, :]


def test_output_shape_any_rank():
    layer = MLP([6], output_dim=3)
    x = np.zeros((2, 5, 4), "float32")
    assert tuple(layer(x).shape) == (2, 5, 3)
    assert layer.compute_output_shape((2, 5, 4)) == (2, 5, 3)


def test_argument_errors():
    with pytest.raises(ValueError, match="hidden_units"):
        MLP([8, 0])
    with pytest.raises(TypeError, match="hidden_units"):
        MLP(None)
    with pytest.raises(ValueError, match="residual_init_std"):
        MLP([8], residual_init_std=1e-4)
    with pytest.raises(ValueError, match="at least one layer"):
        MLP([])
