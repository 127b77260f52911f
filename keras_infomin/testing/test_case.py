"""Reusable assertions: serialization round trips and a one-step fit."""

import os
import tempfile

import keras
import numpy as np
from keras import ops


def assert_config_round_trip(obj):
    """`from_config(get_config())` and the Keras registry rebuild `obj`.

    Returns the object rebuilt through `keras.saving.deserialize_keras_object`
    so callers can compare its behaviour with the original's.
    """
    config = obj.get_config()
    clone = obj.__class__.from_config(config)
    if clone.get_config() != config:
        raise AssertionError(
            f"{type(obj).__name__}: config changed in a round trip:\n"
            f"{config}\n!=\n{clone.get_config()}"
        )
    serialized = keras.saving.serialize_keras_object(obj)
    rebuilt = keras.saving.deserialize_keras_object(serialized)
    if type(rebuilt) is not type(obj):
        raise AssertionError(
            f"deserialized {type(rebuilt).__name__}, expected "
            f"{type(obj).__name__}: is the class registered?"
        )
    return rebuilt


def _to_numpy(x):
    return np.asarray(ops.convert_to_numpy(x))


def run_layer_test(layer, inputs, fit=True, atol=1e-5, call_kwargs=None):
    """Checks a layer end to end.

    Args:
        layer: an unbuilt or built layer instance.
        inputs: tuple of numpy arrays, the positional arguments of `call`.
        fit: whether to run one training step (SGD on a random regression
            target) and require every trainable weight to change.
        atol: tolerance for comparing outputs after save/load.
        call_kwargs: extra keyword arguments for `call`.

    Returns:
        The layer's output on `inputs` (numpy).
    """
    call_kwargs = call_kwargs or {}
    inputs = tuple(inputs)
    assert_config_round_trip(layer)

    symbolic = [
        keras.Input(shape=np.shape(a)[1:], dtype=str(np.asarray(a).dtype))
        for a in inputs
    ]
    outputs = layer(*symbolic, **call_kwargs)
    model = keras.Model(symbolic, outputs)
    expected = _to_numpy(model(list(inputs)))
    if not np.all(np.isfinite(expected)):
        raise AssertionError(f"{layer.name}: non-finite outputs")

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    got = _to_numpy(loaded(list(inputs)))
    np.testing.assert_allclose(got, expected, atol=atol, rtol=1e-5)

    if fit and layer.trainable_weights:
        _one_training_step(model, layer, inputs, expected)
    return expected


def _one_training_step(model, layer, inputs, expected):
    """One SGD step on a random regression target moves every weight."""
    import tensorflow as tf

    before = [_to_numpy(w).copy() for w in layer.trainable_weights]
    target = np.random.default_rng(0).normal(size=expected.shape)
    optimizer = keras.optimizers.SGD(0.1)
    with tf.GradientTape() as tape:
        out = model(list(inputs), training=True)
        loss = ops.mean(ops.square(out - target.astype(expected.dtype)))
    grads = tape.gradient(loss, model.trainable_weights)
    missing = [
        w.path for w, g in zip(model.trainable_weights, grads) if g is None
    ]
    if missing:
        raise AssertionError(f"{layer.name}: no gradient for {missing}")
    optimizer.apply(grads, model.trainable_weights)
    for w, b in zip(layer.trainable_weights, before):
        if np.allclose(_to_numpy(w), b):
            raise AssertionError(
                f"{layer.name}: weight {w.path} did not move in one step"
            )


def run_loss_test(loss, y_pred, y_true=None):
    """Checks a loss: config round trip, finite value, same value rebuilt."""
    rebuilt = assert_config_round_trip(loss)
    value = _to_numpy(loss(y_true, y_pred))
    again = _to_numpy(rebuilt(y_true, y_pred))
    if not np.isfinite(value).all():
        raise AssertionError(f"{loss.name}: non-finite loss {value}")
    np.testing.assert_allclose(again, value, rtol=1e-6, atol=1e-6)
    return value
