import glob
import os
import tempfile

import keras
import pytest
import tensorflow as tf

from keras_infomin.distribute import get_strategy
from keras_infomin.encoders import MLP
from keras_infomin.evaluation import KNNMonitor
from keras_infomin.evaluation import LinearProbe
from keras_infomin.evaluation import extract_features
from keras_infomin.evaluation import knn_accuracy
from keras_infomin.evaluation import linear_probe
from tests.evaluation._data import digits_split


class AutoEncoder(keras.Model):
    """A model exposing its encoder as `model.encoder`."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.encoder = MLP([32])
        self.decoder = keras.layers.Dense(64)

    def call(self, x):
        return self.decoder(self.encoder(x))


def _fit(model, callbacks, epochs=3):
    (x_train, _), _ = digits_split()
    model.compile(optimizer="adam", loss="mse")
    return model.fit(
        x_train,
        x_train,
        batch_size=200,
        epochs=epochs,
        verbose=0,
        callbacks=callbacks,
    )


def test_callbacks_write_into_history():
    train, test = digits_split()
    probe = LinearProbe(train, test, every=2)
    knn = KNNMonitor(train, test, k=20, every=1)
    model = AutoEncoder()
    history = _fit(model, [probe, knn], epochs=3)
    # The probe runs after epochs 2 and 3 (the last), kNN after every epoch.
    assert [e for e, _ in probe.history] == [1, 2]
    assert len(history.history["linear_probe_accuracy"]) == 2
    assert len(history.history["knn_accuracy"]) == 3
    # The values are those of the trained model.encoder.
    assert history.history["linear_probe_accuracy"][-1] == pytest.approx(
        linear_probe(model.encoder, train, test)
    )
    f_train, y_train = extract_features(model.encoder, train)
    f_test, y_test = extract_features(model.encoder, test)
    assert history.history["knn_accuracy"][-1] == pytest.approx(
        knn_accuracy(f_train, y_train, f_test, y_test, k=20)
    )
    assert min(history.history["knn_accuracy"]) > 0.5  # chance is 0.1


def test_encoder_resolution():
    train, test = digits_split()
    model = AutoEncoder()
    other = MLP([8])
    callbacks = {
        "given": KNNMonitor(train, test, k=5, encoder=other),
        "named": KNNMonitor(train, test, k=5, encoder="decoder"),
        "attribute": KNNMonitor(train, test, k=5),
    }
    for cb in callbacks.values():
        cb.set_model(model)
    assert callbacks["given"].resolve_encoder() is other
    assert callbacks["named"].resolve_encoder() is model.decoder
    assert callbacks["attribute"].resolve_encoder() is model.encoder
    plain = keras.Sequential([keras.Input((64,)), keras.layers.Dense(4)])
    callbacks["attribute"].set_model(plain)
    assert callbacks["attribute"].resolve_encoder() is plain
    missing = KNNMonitor(train, test, encoder="projector")
    missing.set_model(model)
    with pytest.raises(AttributeError, match="projector"):
        missing.resolve_encoder()


def test_datasets_and_keras_probe():
    train, test = digits_split()
    train_ds = tf.data.Dataset.from_tensor_slices(train).batch(256)
    test_ds = tf.data.Dataset.from_tensor_slices(test).batch(256)
    probe = LinearProbe(
        train_ds, test_ds, method="keras", epochs=5, log_key="probe"
    )
    history = _fit(AutoEncoder(), [probe], epochs=1)
    assert 0.5 < history.history["probe"][0] <= 1.0


def test_key_reaches_tensorboard():
    pytest.importorskip("tensorboard")
    train, test = digits_split()
    with tempfile.TemporaryDirectory() as tmp:
        callbacks = [
            KNNMonitor(train, test, k=5),
            keras.callbacks.TensorBoard(log_dir=tmp),
        ]
        _fit(AutoEncoder(), callbacks, epochs=1)
        tags = set()
        pattern = os.path.join(tmp, "**", "events.out.tfevents.*")
        for path in glob.glob(pattern, recursive=True):
            for event in tf.compat.v1.train.summary_iterator(path):
                tags.update(v.tag for v in event.summary.value)
    assert "epoch_knn_accuracy" in tags


def test_argument_errors():
    train, test = digits_split()
    with pytest.raises(ValueError, match="every"):
        LinearProbe(train, test, every=0)
    with pytest.raises(ValueError, match="method"):
        LinearProbe(train, test, method="svm")
    with pytest.raises(ValueError, match="`k`"):
        KNNMonitor(train, test, k=0)
    with pytest.raises(ValueError, match="temperature"):
        KNNMonitor(train, test, temperature=-1.0)


def test_callbacks_under_mirrored_strategy():
    train, test = digits_split()
    strategy = get_strategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = AutoEncoder()
        model.compile(optimizer="adam", loss="mse")
    knn = KNNMonitor(train, test, k=20)
    history = model.fit(
        train[0],
        train[0],
        batch_size=200,
        epochs=1,
        verbose=0,
        callbacks=[knn],
    )
    f_train, y_train = extract_features(model.encoder, train)
    f_test, y_test = extract_features(model.encoder, test)
    assert history.history["knn_accuracy"][0] == pytest.approx(
        knn_accuracy(f_train, y_train, f_test, y_test, k=20)
    )
