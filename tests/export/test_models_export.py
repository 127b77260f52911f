"""Trained trainers export their representation for TF Hub.

`ContrastiveModel`, `MomentumContrast` and `InfoMinModel` are trained a few
steps (the first under a two-replica MirroredStrategy), then the model
itself (its `call` returns the representation) and the encoders it holds
are written with `export_hub`. `hub.KerasLayer` (in a tf-keras model) and
`tf.saved_model.load` must reproduce the Keras outputs. The `.keras` round
trips of the trainers are tested in tests/models.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import distribute
from keras_infomin import encoders
from keras_infomin import models
from keras_infomin import views
from keras_infomin.export import export_hub
from tests.models.toy import shared_signal_views

hub = pytest.importorskip("tensorflow_hub")
tf_keras = pytest.importorskip("tf_keras")

ATOL = 1e-5


def _check_export(layer, x, path, input_signature):
    """Exports `layer`; hub.KerasLayer and saved_model.load reproduce it."""
    expected = keras.ops.convert_to_numpy(layer(x, training=False))
    # verify=False: the loads below do the same check, more thoroughly.
    export_hub(layer, str(path), input_signature=input_signature, verify=False)
    hub_model = tf_keras.Sequential(
        [tf_keras.Input(x.shape[1:]), hub.KerasLayer(str(path))]
    )
    np.testing.assert_allclose(
        hub_model.predict(x, verbose=0), expected, atol=ATOL
    )
    loaded = tf.saved_model.load(str(path))
    np.testing.assert_allclose(loaded(x, training=False), expected, atol=ATOL)
    return expected


def test_contrastive_model_trained_on_two_replicas(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((32, 8, 8, 3)).astype("float32")
    with distribute.get_strategy(["/cpu:0", "/cpu:1"]).scope():
        model = models.ContrastiveModel(
            encoder=encoders.ConvNet(filters=(4,), output_dim=6),
            projector=models.ProjectionHead((8,), 4),
            view_layer=views.Views(views.RandomResizedCrop(8, 8, seed=1)),
        )
        model(images[:2])
        model.compile(optimizer=keras.optimizers.SGD(0.05))
    before = keras.ops.convert_to_numpy(model(images, training=False))
    model.fit(images, batch_size=16, epochs=1, verbose=0)
    spec = (None, 8, 8, 3)
    represented = _check_export(model, images, tmp_path / "model", spec)
    assert not np.allclose(represented, before, atol=1e-4)  # it trained
    # The model's representation is its encoder's output on the centre
    # view (the inference form of the crop is the identity at full size).
    encoder = model.encoders[0]
    encoded = _check_export(encoder, images, tmp_path / "encoder", spec)
    np.testing.assert_allclose(encoded, represented, atol=ATOL)


def test_momentum_contrast_query_and_key_encoders(tmp_path):
    v1, v2, _ = shared_signal_views(n=64)
    keras.utils.set_random_seed(0)
    model = models.MomentumContrast(
        encoder=encoders.MLP((16,), output_dim=8),
        projector=models.ProjectionHead((16,), 8),
        queue_size=64,
        momentum=0.5,
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    model.fit((v1, v2), batch_size=32, epochs=1, verbose=0)
    spec = (None, v1.shape[1])
    represented = _check_export(model, v1, tmp_path / "model", spec)
    encoded = _check_export(model.encoder, v1, tmp_path / "encoder", spec)
    np.testing.assert_allclose(encoded, represented, atol=ATOL)
    # The momentum (key) encoder is a separate set of weights, exportable
    # on its own; after training it lags behind the query encoder.
    keys = _check_export(model.key_encoder, v1, tmp_path / "keys", spec)
    assert not np.allclose(keys, encoded, atol=1e-4)


def _pooling_encoder(units):
    return keras.Sequential(
        [
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(units, activation="relu"),
            keras.layers.Dense(units),
        ]
    )


def test_infomin_model_learned_views_and_encoders(tmp_path):
    rng = np.random.default_rng(1)
    images = rng.random((32, 6, 6, 3)).astype("float32")
    keras.utils.set_random_seed(0)
    model = models.InfoMinModel(
        generator=views.FlowViewGenerator(
            encoders.RealNVP(2, (8,), coupling="affine", init_std=1e-3, seed=0)
        ),
        encoders=[_pooling_encoder(5), _pooling_encoder(4)],
        projectors=[models.ProjectionHead((6,), 3) for _ in range(2)],
    )
    model.compile(
        encoder_optimizer=keras.optimizers.SGD(0.1),
        generator_optimizer=keras.optimizers.SGD(0.1),
    )
    model(images[:2])
    generator_before = [w.copy() for w in model.generator.get_weights()]
    model.fit(images, batch_size=16, epochs=1, verbose=0)
    # The game moved the view generator too.
    assert any(
        not np.allclose(a, b)
        for a, b in zip(model.generator.get_weights(), generator_before)
    )
    spec = (None, 6, 6, 3)
    represented = _check_export(model, images, tmp_path / "model", spec)
    # The representation is both encoders' outputs (not the projections) on
    # the learned views, concatenated (5 + 4 features).
    assert represented.shape == (32, 9)
    first, second = model.generator(images)
    parts = [
        encoder(view, training=False).numpy()
        for encoder, view in zip(model.encoders, (first, second))
    ]
    assert [p.shape[-1] for p in parts] == [5, 4]
    np.testing.assert_allclose(
        np.concatenate(parts, axis=-1), represented, atol=ATOL
    )


def test_a_trainer_exports_its_representation_path_only(tmp_path, caplog):
    """No projection head or critic in the export: fine-tuning it through
    hub.KerasLayer gives every exported variable a gradient."""
    v1, v2, _ = shared_signal_views(n=64)
    keras.utils.set_random_seed(0)
    model = models.ContrastiveModel(
        encoder=encoders.MLP((16,), output_dim=8),
        projector=models.ProjectionHead((16,), 4),
        critic="bilinear",
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05))
    model.fit((v1, v2), batch_size=32, epochs=1, verbose=0)
    path = str(tmp_path / "model")
    export_hub(model, path, input_signature=(None, v1.shape[1]))
    loaded = tf.saved_model.load(path)
    exported = sorted(tuple(v.shape) for v in loaded.trainable_variables)
    wanted = sorted(
        tuple(v.shape) for v in model.encoders[0].trainable_variables
    )
    assert exported == wanted
    layer = hub.KerasLayer(path, trainable=True)
    tuned = tf_keras.Sequential(
        [tf_keras.Input(v1.shape[1:]), layer, tf_keras.layers.Dense(2)]
    )
    tuned.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    labels = (v1[:, 0] > 0).astype("int64")
    with caplog.at_level("WARNING"):
        tuned.fit(v1, labels, batch_size=32, epochs=1, verbose=0)
    assert "Gradients do not exist" not in caplog.text
