import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.evaluation import extract_features
from keras_infomin.evaluation import labels_to_indices


def _data(n=37, d=5):
    rng = np.random.default_rng(0)
    return (
        rng.normal(size=(n, d)).astype("float32"),
        rng.integers(0, 3, size=n),
    )


def test_raw_inputs_are_flattened():
    x = np.random.normal(size=(10, 2, 3)).astype("float32")
    y = np.arange(10) % 4
    features, labels = extract_features(None, (x, y), batch_size=3)
    np.testing.assert_array_equal(features, x.reshape(10, 6))
    np.testing.assert_array_equal(labels, y)


def test_dense_encoder_matches_numpy_over_batches_and_datasets():
    x, y = _data()
    dense = keras.layers.Dense(4)
    dense.build((None, 5))
    kernel, bias = (np.asarray(w) for w in dense.weights)
    expected = x @ kernel + bias
    from_arrays, labels = extract_features(dense, (x, y), batch_size=8)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(10)
    from_dataset, labels_ds = extract_features(dense, dataset)
    for got in (from_arrays, from_dataset):
        np.testing.assert_allclose(got, expected, atol=1e-5)
    np.testing.assert_array_equal(labels, y)
    np.testing.assert_array_equal(labels_ds, y)


def test_inference_mode_and_unlabelled_inputs():
    x, _ = _data()
    encoder = keras.Sequential([keras.layers.Dropout(0.9)])
    features, labels = extract_features(encoder, x)
    np.testing.assert_allclose(features, x)  # dropout inactive
    assert labels is None
    dataset = tf.data.Dataset.from_tensor_slices(x).batch(16)
    features, labels = extract_features(encoder, dataset)
    np.testing.assert_allclose(features, x)
    assert labels is None


def test_plain_callable_encoder():
    x, y = _data()
    features, _ = extract_features(lambda v: 2.0 * v, (x, y))
    np.testing.assert_allclose(features, 2.0 * x)


def test_labels_to_indices():
    np.testing.assert_array_equal(
        labels_to_indices(np.eye(3)[[2, 0, 1]]), [2, 0, 1]
    )
    np.testing.assert_array_equal(labels_to_indices([[1], [0]]), [1, 0])
    with pytest.raises(ValueError, match="integer"):
        labels_to_indices([0.5, 1.0])


def test_argument_errors():
    x, y = _data()
    with pytest.raises(ValueError, match="differ in length"):
        extract_features(None, (x, y[:-1]))
    with pytest.raises(ValueError, match="batch_size"):
        extract_features(None, (x, y), batch_size=0)
    with pytest.raises(TypeError, match="encoder"):
        extract_features("not an encoder", (x, y))
    with pytest.raises(ValueError, match="tuple"):
        extract_features(None, (x, y, y))
