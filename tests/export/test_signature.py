"""infer_input_signature / normalize_input_signature."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.export import infer_input_signature
from keras_infomin.export import normalize_input_signature


def _spec(shape, dtype=tf.float32, name="inputs"):
    return tf.TensorSpec(shape, dtype, name=name)


def test_functional_sequential_and_dict_models():
    seq = keras.Sequential([keras.Input((4, 4, 3)), keras.layers.Flatten()])
    assert infer_input_signature(seq) == _spec((None, 4, 4, 3))
    inp = keras.Input((7,), dtype="float16")
    model = keras.Model(inp, keras.layers.Dense(2, dtype="float16")(inp))
    assert infer_input_signature(model, "x") == _spec(
        (None, 7), tf.float16, "x"
    )
    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    two = keras.Model({"a": a, "b": b}, keras.layers.Concatenate()([a, b]))
    assert infer_input_signature(two) == {
        "a": _spec((None, 3), name="a"),
        "b": _spec((None, 2), name="b"),
    }
    listed = keras.Model([a, b], keras.layers.Concatenate()([a, b]))
    assert infer_input_signature(listed) == [
        _spec((None, 3), name="inputs_0"),
        _spec((None, 2), name="inputs_1"),
    ]


def test_layer_and_subclassed_model_built_on_data():
    layer = keras.layers.Dense(3)
    layer(np.zeros((5, 4), "float32"))
    assert infer_input_signature(layer) == _spec((None, 4))

    class Twice(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(2)

        def call(self, x):
            return self.dense(x) * 2

    model = Twice()
    model(np.zeros((3, 6), "float32"))
    assert infer_input_signature(model) == _spec((None, 6))


def test_errors():
    with pytest.raises(ValueError, match=r"not built.*encoder\(x\)"):
        infer_input_signature(keras.Sequential([keras.layers.Dense(2)]))
    with pytest.raises(TypeError, match="Keras model or layer"):
        infer_input_signature(lambda x: x)

    class TwoArgs(keras.layers.Layer):
        def build(self, x_shape, y_shape):
            self.built = True

        def call(self, x, y):
            return x + y

    layer = TwoArgs()
    layer(np.zeros((1, 2), "float32"), np.zeros((1, 2), "float32"))
    with pytest.raises(ValueError, match="Pass input_signature"):
        infer_input_signature(layer)


@pytest.mark.parametrize(
    "given, expected",
    [
        ((None, 8), _spec((None, 8))),
        ([None, 8], _spec((None, 8))),
        (tf.TensorSpec((None, 2), tf.int32), _spec((None, 2), tf.int32)),
        ([tf.TensorSpec((None, 2))], _spec((None, 2))),
        (
            keras.InputSpec(shape=(None, 3), dtype="float64"),
            _spec((None, 3), tf.float64),
        ),
        (
            {"a": (None, 1), "b": tf.TensorSpec((None, 2))},
            {"a": _spec((None, 1), name="a"), "b": _spec((None, 2), name="b")},
        ),
        (
            [(None, 1), (None, 2)],
            [
                _spec((None, 1), name="inputs_0"),
                _spec((None, 2), name="inputs_1"),
            ],
        ),
    ],
)
def test_normalize(given, expected):
    assert normalize_input_signature(given) == expected


@pytest.mark.parametrize(
    "given, error",
    [
        ("(None, 8)", TypeError),
        ({1: (None, 2)}, TypeError),
        (keras.InputSpec(ndim=2), ValueError),
        ((None, 2.5), TypeError),
    ],
)
def test_normalize_errors(given, error):
    with pytest.raises(error, match="input_signature"):
        normalize_input_signature(given)
