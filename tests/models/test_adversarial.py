import json

import keras
import numpy as np
import pytest

from keras_infomin import distribute
from keras_infomin.encoders import RealNVP
from keras_infomin.models import AdversarialInvertibleEncoder
from keras_infomin.testing import assert_config_round_trip

NUM_CLASSES = 3


def _toy_data(n=192, dim=6, seed=0):
    """Gaussian inputs, labels from a fixed linear map (linearly separable)."""
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype("float32")
    w = np.random.default_rng(99).normal(size=(dim, NUM_CLASSES))
    y = np.argmax(x @ w, axis=1).astype("int64")
    return x, y


def _model(warmup_steps=1000, classifier_steps=10, compile_model=True):
    flow = RealNVP(
        num_couplings=2, hidden_units=(16,), coupling="affine", seed=3
    )
    model = AdversarialInvertibleEncoder(
        flow,
        NUM_CLASSES,
        classifier_steps=classifier_steps,
        warmup_steps=warmup_steps,
    )
    if compile_model:
        model.compile(
            encoder_optimizer=keras.optimizers.Adam(1e-2),
            classifier_optimizer=keras.optimizers.Adam(3e-2),
        )
    return model


def _numpy_terms(logits, labels):
    """Cross-entropy, KL(uniform || softmax) and accuracy, in numpy."""
    logits = np.asarray(logits, "float64")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    k = logits.shape[1]
    cross_entropy = -np.mean(log_p[np.arange(len(labels)), labels])
    kl = np.mean(np.sum((1.0 / k) * (np.log(1.0 / k) - log_p), axis=1))
    accuracy = np.mean(np.argmax(logits, axis=1) == labels)
    return cross_entropy, kl, accuracy


def _json(config):
    return json.loads(json.dumps(config))


def _values(variables):
    return [np.array(v.numpy()) for v in variables]


def _same(a, b):
    return all(np.array_equal(u, v) for u, v in zip(a, b))


def test_classifier_learns_and_logs_match_numpy():
    x, y = _toy_data()
    x_test, y_test = _toy_data(seed=1)
    model = _model()
    model(x[:2])
    encoder_before = _values(model.encoder.weights)
    model.fit(x, y, batch_size=32, epochs=6, shuffle=False, verbose=0)
    # Warm-up only: the encoder never moved.
    assert int(model.encoder_optimizer.iterations.numpy()) == 0
    assert _same(encoder_before, _values(model.encoder.weights))
    logs = model.evaluate(
        x_test, y_test, batch_size=len(x_test), return_dict=True, verbose=0
    )
    logits = keras.ops.convert_to_numpy(model.classify(x_test))
    ce, kl, acc = _numpy_terms(logits, y_test)
    assert acc > 0.8  # chance is 1/3
    np.testing.assert_allclose(logs["classifier_loss"], ce, rtol=1e-4)
    np.testing.assert_allclose(logs["uniform_kl"], kl, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(logs["classifier_accuracy"], acc, atol=1e-6)


def test_encoder_step_makes_predictions_closer_to_uniform():
    x, y = _toy_data()
    model = _model()
    model(x[:2])
    for start in range(0, 192 * 4, 32):
        batch = slice(start % 192, start % 192 + 32)
        model.classifier_step(x[batch], y[batch])
    logits = keras.ops.convert_to_numpy(model.classify(x))
    _, kl_before, _ = _numpy_terms(logits, y)
    assert kl_before > 0.1
    classifier_before = _values(model.classifier.weights)
    encoder_before = _values(model.encoder.weights)
    for _ in range(5):
        model.encoder_step(x, y)
    logits = keras.ops.convert_to_numpy(model.classify(x))
    _, kl_after, _ = _numpy_terms(logits, y)
    assert kl_after < kl_before
    assert _same(classifier_before, _values(model.classifier.weights))
    assert not _same(encoder_before, _values(model.encoder.weights))


def test_schedule_and_each_optimizer_moves_only_its_player():
    warmup, k, steps = 3, 2, 12
    expected = [s >= warmup and (s - warmup) % (k + 1) == k for s in range(40)]
    model = _model(warmup_steps=warmup, classifier_steps=k)
    turns = [
        bool(keras.ops.convert_to_numpy(model.is_encoder_turn(s)))
        for s in range(40)
    ]
    assert turns == expected

    x, y = _toy_data(n=steps * 16)
    model(x[:2])
    # Optimizer state covers exactly its own player's variables.
    enc_shapes = sorted(tuple(v.shape) for v in model.encoder.trainable_weights)
    cls_shapes = sorted(
        tuple(v.shape) for v in model.classifier.trainable_weights
    )
    assert model.encoder_optimizer.built and model.classifier_optimizer.built
    assert model.encoder_optimizer._trainable_variables == (
        model.encoder.trainable_variables
    )
    assert model.classifier_optimizer._trainable_variables == (
        model.classifier.trainable_variables
    )
    assert enc_shapes != cls_shapes
    model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    encoder_turns = sum(expected[:steps])
    assert int(model.schedule_step.numpy()) == steps
    assert int(model.encoder_optimizer.iterations.numpy()) == encoder_turns
    assert int(model.classifier_optimizer.iterations.numpy()) == (
        steps - encoder_turns
    )


def test_save_load_round_trip_restores_weights_and_both_optimizers(tmp_path):
    x, y = _toy_data()
    model = _model(warmup_steps=2, classifier_steps=1)
    model.fit(x, y, batch_size=32, epochs=2, shuffle=False, verbose=0)
    assert int(model.encoder_optimizer.iterations.numpy()) > 0
    assert_config_round_trip(model)
    path = str(tmp_path / "adversarial.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, AdversarialInvertibleEncoder)
    assert _json(loaded.get_config()) == _json(model.get_config())
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for name in ("encoder_optimizer", "classifier_optimizer"):
        saved, restored = getattr(model, name), getattr(loaded, name)
        assert type(saved) is type(restored)
        assert restored.get_config() == saved.get_config()
        assert len(saved.variables) == len(restored.variables) > 1
        for a, b in zip(saved.variables, restored.variables):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(
        model.predict(x, verbose=0), loaded.predict(x, verbose=0), atol=1e-6
    )
    # Both continue identically: same schedule position, same moments.
    for m in (model, loaded):
        m.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)


def test_two_replicas_match_one_replica():
    x, y = _toy_data(n=96)
    reference = _model(warmup_steps=2, classifier_steps=1)
    reference(x[:2])
    start = _values(reference.weights)
    strategy = distribute.get_strategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        replicated = _model(warmup_steps=2, classifier_steps=1)
        replicated(x[:2])
    for variable, value in zip(replicated.weights, start):
        variable.assign(value)
    for m in (reference, replicated):
        m.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert int(replicated.encoder_optimizer.iterations.numpy()) == 2
    assert int(replicated.classifier_optimizer.iterations.numpy()) == 4
    for a, b in zip(reference.weights, replicated.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_bad_arguments_raise_clear_errors():
    flow = RealNVP(num_couplings=2, hidden_units=(8,), seed=0)
    with pytest.raises(TypeError, match="encoder"):
        AdversarialInvertibleEncoder(lambda x: x, 3)
    for kwargs, name in (
        ({"num_classes": 1}, "num_classes"),
        ({"num_classes": 3, "classifier_steps": 0}, "classifier_steps"),
        ({"num_classes": 3, "warmup_steps": -1}, "warmup_steps"),
        ({"num_classes": 3, "warmup_steps": True}, "warmup_steps"),
        ({"num_classes": 2.5}, "num_classes"),
    ):
        with pytest.raises(ValueError, match=name):
            AdversarialInvertibleEncoder(flow, **kwargs)
    model = _model(compile_model=False)
    with pytest.raises(ValueError, match="loss"):
        model.compile(loss="mse")
    with pytest.raises(ValueError, match="optimizer"):
        model.compile(optimizer="adam")
    shared = keras.optimizers.Adam()
    with pytest.raises(ValueError, match="distinct"):
        model.compile(encoder_optimizer=shared, classifier_optimizer=shared)
    x, y = _toy_data(n=32)
    with pytest.raises(ValueError, match="compile"):
        model.fit(x, y, verbose=0)
    model = _model()
    with pytest.raises(ValueError, match="Labels"):
        model.fit(x, np.zeros((32, 2, 2)), verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        _model().fit(x, y, sample_weight=np.ones(32), verbose=0)
