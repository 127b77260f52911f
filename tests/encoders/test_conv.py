import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.encoders import Conv2D
from keras_infomin.encoders import ResNetCIFAR
from keras_infomin.encoders.conv import conv2d_tap_gradient


def _tf_conv(x, kernel):
    return tf.nn.conv2d(x, kernel, 1, "SAME")


def _numpy_kernel_gradient(x, dy, kh, kw):
    """dW[i, j] = sum over n, h, w of x_pad[n, h + i, w + j]^T dy[n, h, w]."""
    x = x.astype("float64")
    dy = dy.astype("float64")
    _, height, width, _ = dy.shape
    padded = np.pad(x, [(0, 0), (kh // 2,) * 2, (kw // 2,) * 2, (0, 0)])
    out = np.zeros((kh, kw, x.shape[-1], dy.shape[-1]))
    for i in range(kh):
        for j in range(kw):
            window = padded[:, i : i + height, j : j + width, :]
            out[i, j] = np.einsum("nhwc,nhwd->cd", window, dy)
    return out


@pytest.mark.parametrize("kernel_size", [(3, 3), (1, 1), (5, 3)])
def test_tap_gradient_matches_numpy_and_tensorflow(kernel_size):
    rng = np.random.default_rng(0)
    kh, kw = kernel_size
    x = rng.normal(size=(3, 6, 5, 4)).astype("float32")
    kernel = rng.normal(size=(kh, kw, 4, 7)).astype("float32")
    dy = rng.normal(size=(3, 6, 5, 7)).astype("float32")
    results = []
    for conv in (conv2d_tap_gradient, _tf_conv):
        xt, kt = tf.constant(x), tf.constant(kernel)
        with tf.GradientTape() as tape:
            tape.watch([xt, kt])
            y = conv(xt, kt)
            loss = tf.reduce_sum(y * dy)
        results.append([y.numpy(), *tape.gradient(loss, [xt, kt])])
    (y, dx, dk), (y_ref, dx_ref, dk_ref) = results
    np.testing.assert_allclose(y, y_ref, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx, dx_ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(dk, dk_ref, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(
        dk, _numpy_kernel_gradient(x, dy, kh, kw), rtol=1e-5, atol=1e-4
    )


def test_tap_gradient_is_differentiable_twice():
    rng = np.random.default_rng(1)
    x = tf.constant(rng.normal(size=(2, 4, 4, 3)).astype("float32"))
    kernel = tf.constant(rng.normal(size=(3, 3, 3, 2)).astype("float32"))
    grads = []
    for conv in (conv2d_tap_gradient, _tf_conv):
        with tf.GradientTape() as outer:
            outer.watch(kernel)
            with tf.GradientTape() as inner:
                inner.watch(kernel)
                loss = tf.reduce_sum(conv(x, kernel) ** 2)
            penalty = tf.reduce_sum(inner.gradient(loss, kernel) ** 2)
        grads.append(outer.gradient(penalty, kernel).numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-4, atol=1e-3)


def _layer_gradients(layer, x):
    with tf.GradientTape() as tape:
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.cast(y, "float32") ** 2)
    return y, tape.gradient(loss, layer.trainable_variables)


@pytest.mark.parametrize("use_bias", [False, True])
def test_layer_in_bfloat16_matches_keras(use_bias):
    x = np.random.default_rng(2).uniform(size=(4, 8, 8, 16)).astype("float32")
    kwargs = dict(padding="same", use_bias=use_bias, dtype="mixed_bfloat16")
    reference = keras.layers.Conv2D(8, 3, **kwargs)
    layer = Conv2D(8, 3, kernel_gradient="taps", **kwargs)
    for conv in (reference, layer):
        conv.build(x.shape)
    layer.set_weights(reference.get_weights())
    assert layer._uses_tap_gradient(tf.constant(x, "bfloat16"), True)
    y_ref, grads_ref = _layer_gradients(reference, x)
    y, grads = _layer_gradients(layer, x)
    assert y.dtype == y_ref.dtype == "bfloat16"
    np.testing.assert_array_equal(np.float32(y), np.float32(y_ref))
    for g, g_ref in zip(grads, grads_ref):
        assert g.dtype == "float32"
        g, g_ref = np.asarray(g), np.asarray(g_ref)
        np.testing.assert_allclose(g, g_ref, atol=2e-2 * np.abs(g_ref).max())


@pytest.mark.parametrize(
    "kwargs, dtype, training, shape",
    [
        ({}, "float32", True, (2, 8, 8, 3)),  # float32: Keras' gradient
        ({}, "bfloat16", False, (2, 8, 8, 3)),  # inference
        ({}, "bfloat16", True, (2, 9, 8, 3)),  # 72 positions > 64
        ({"strides": 2}, "bfloat16", True, (2, 8, 8, 3)),
        ({"padding": "valid"}, "bfloat16", True, (2, 8, 8, 3)),
        ({"dilation_rate": 2}, "bfloat16", True, (2, 8, 8, 3)),
        ({"kernel_size": 2}, "bfloat16", True, (2, 8, 8, 3)),
        ({"kernel_gradient": "keras"}, "bfloat16", True, (2, 8, 8, 3)),
    ],
)
def test_taps_only_where_they_apply(kwargs, dtype, training, shape):
    options = {"kernel_size": 3, "padding": "same", "kernel_gradient": "taps"}
    layer = Conv2D(4, **{**options, **kwargs})
    assert not layer._uses_tap_gradient(tf.zeros(shape, dtype), training)
    applies = Conv2D(4, **options)
    assert applies._uses_tap_gradient(tf.zeros((2, 8, 8, 3), "bfloat16"), True)


def test_auto_follows_the_platform(monkeypatch):
    from keras_infomin.encoders import conv

    x = tf.zeros((2, 4, 4, 3), "bfloat16")
    layer = Conv2D(4, 3, padding="same")
    assert layer.kernel_gradient == "auto"
    for native in (True, False):
        monkeypatch.setattr(conv, "native_bfloat16_cpu", lambda n=native: n)
        assert layer._uses_tap_gradient(x, True) is native


def test_bad_kernel_gradient_and_serialization():
    with pytest.raises(ValueError, match="kernel_gradient"):
        Conv2D(4, 3, kernel_gradient="fast")
    layer = Conv2D(4, 3, padding="same", kernel_gradient="keras")
    clone = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(clone) is Conv2D and clone.kernel_gradient == "keras"


def test_resnet_gradients_in_bfloat16_match_keras_convolutions(monkeypatch):
    from keras_infomin.encoders import conv

    x = np.random.default_rng(3).uniform(size=(4, 16, 16, 3))
    x = x.astype("float32")
    grads, calls = {}, []
    taps = conv.conv2d_tap_gradient
    monkeypatch.setattr(
        conv, "conv2d_tap_gradient", lambda *a: calls.append(1) or taps(*a)
    )
    for native in (True, False):
        monkeypatch.setattr(conv, "native_bfloat16_cpu", lambda n=native: n)
        calls.clear()
        keras.utils.set_random_seed(0)
        model = ResNetCIFAR(18, width=4, dtype="mixed_bfloat16")
        with tf.GradientTape() as tape:
            y = model(x, training=True)
            loss = tf.reduce_sum(tf.cast(y, "float32") ** 2)
        weights = model.trainable_variables
        grads[native] = [np.asarray(g) for g in tape.gradient(loss, weights)]
        # 16 x 16 inputs: stages 2-4 end at 8 x 8 or less, 3 + 3 + 3 taps.
        assert len(calls) == (9 if native else 0)
    for g, g_ref in zip(grads[True], grads[False]):
        scale = max(np.abs(g_ref).max(), 1e-3)
        np.testing.assert_allclose(g, g_ref, atol=5e-2 * scale)
