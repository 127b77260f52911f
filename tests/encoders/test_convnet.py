import keras
import numpy as np
import pytest

from keras_infomin.encoders import ConvNet
from keras_infomin.testing import run_layer_test


def test_layer_contract_flat_input():
    x = np.random.uniform(size=(3, 392)).astype("float32")
    run_layer_test(
        ConvNet(filters=(4, 8), output_dim=5, image_shape=(14, 28, 1)), (x,)
    )


def test_default_sizes_follow_tschannen_et_al():
    layer = ConvNet(image_shape=(14, 28, 1))
    out = layer(np.zeros((2, 392), "float32"))
    assert tuple(out.shape) == (2, 100)
    kernels = [c.kernel.shape for c in layer._convs]
    assert [tuple(k) for k in kernels] == [(5, 5, 1, 64), (5, 5, 64, 128)]
    assert [c.strides for c in layer._convs] == [(2, 2), (2, 2)]


def test_matches_plain_keras_stack():
    # The same computation assembled from stock Keras layers.
    x = np.random.uniform(size=(3, 392)).astype("float32")
    layer = ConvNet(filters=(4, 6), output_dim=7, image_shape=(14, 28, 1))
    got = np.asarray(layer(x))
    reference = keras.Sequential(
        [
            keras.Input((392,)),
            keras.layers.Reshape((14, 28, 1)),
            keras.layers.Conv2D(4, 5, 2, "same", activation="relu"),
            keras.layers.Conv2D(6, 5, 2, "same", activation="relu"),
            keras.layers.LayerNormalization(),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(7),
        ]
    )
    reference.set_weights([np.asarray(w) for w in layer.weights])
    np.testing.assert_allclose(got, np.asarray(reference(x)), atol=1e-5)


def test_image_input_and_no_head():
    layer = ConvNet(filters=(4, 8), output_dim=None, layer_norm=False)
    out = layer(np.zeros((2, 12, 12, 3), "float32"))
    assert tuple(out.shape) == (2, 8)


def test_flat_input_needs_image_shape():
    with pytest.raises(ValueError, match="image_shape"):
        ConvNet()(np.zeros((2, 392), "float32"))
    with pytest.raises(ValueError, match="holds 100 values"):
        ConvNet(image_shape=(10, 10, 1))(np.zeros((2, 392), "float32"))
    with pytest.raises(ValueError, match="padding"):
        ConvNet(padding="causal")
