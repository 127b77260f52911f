import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.encoders import MLP
from keras_infomin.evaluation import linear_probe
from keras_infomin.evaluation import scale_features
from tests.evaluation._data import digits_split


def _sklearn_accuracy(f_train, y_train, f_test, y_test):
    """Tschannen et al.'s protocol written directly with scikit-learn."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import MinMaxScaler

    scaler = MinMaxScaler().fit(f_train)
    classifier = LogisticRegression(
        solver="saga", C=10.0, tol=0.1, random_state=0
    ).fit(scaler.transform(f_train), y_train)
    return classifier.score(scaler.transform(f_test), y_test)


def test_raw_pixels_match_direct_sklearn():
    train, test = digits_split()
    accuracy = linear_probe(None, train, test, method="sklearn")
    assert accuracy == pytest.approx(_sklearn_accuracy(*train, *test))
    assert accuracy > 0.9  # chance is 0.1


def test_random_feature_encoder_matches_direct_sklearn():
    train, test = digits_split()
    encoder = MLP([256])
    accuracy = linear_probe(encoder, train, test, method="sklearn")
    kernel, bias = (np.asarray(w) for w in encoder.weights)

    def features(x):
        return np.maximum(x @ kernel + bias, 0)

    expected = _sklearn_accuracy(
        features(train[0]), train[1], features(test[0]), test[1]
    )
    # Float rounding of the features may move a single prediction.
    assert abs(accuracy - expected) <= 2 / len(test[1])
    assert accuracy > 0.9


def test_keras_method_beats_chance_and_tracks_sklearn():
    train, test = digits_split()
    encoder = MLP([128])
    keras_acc = linear_probe(encoder, train, test, method="keras")
    sklearn_acc = linear_probe(encoder, train, test, method="sklearn")
    assert keras_acc > 0.85
    assert abs(keras_acc - sklearn_acc) < 0.06


def test_datasets_give_the_same_accuracy():
    train, test = digits_split()

    def ds(data):
        return tf.data.Dataset.from_tensor_slices(data).batch(100)

    assert linear_probe(None, ds(train), ds(test)) == pytest.approx(
        linear_probe(None, train, test)
    )


def test_scale_features_matches_sklearn_scalers():
    from sklearn.preprocessing import MinMaxScaler
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    train = rng.normal(size=(20, 4)) * [1, 5, 0, 2]  # one constant feature
    test = rng.normal(size=(7, 4))
    for name, scaler in (
        ("minmax", MinMaxScaler),
        ("standard", StandardScaler),
    ):
        got_train, got_test = scale_features(train, test, name)
        reference = scaler().fit(train)
        np.testing.assert_allclose(
            got_train, reference.transform(train), atol=1e-5
        )
        np.testing.assert_allclose(
            got_test, reference.transform(test), atol=1e-5
        )


def test_argument_errors():
    train, test = digits_split()
    with pytest.raises(ValueError, match="method"):
        linear_probe(None, train, test, method="svm")
    with pytest.raises(ValueError, match="scaling"):
        linear_probe(None, train, test, scaling="l2")
    with pytest.raises(ValueError, match="no labels"):
        linear_probe(None, train[0], test)
    with pytest.raises(ValueError, match="num_classes"):
        linear_probe(None, train, test, method="keras", num_classes=3)
