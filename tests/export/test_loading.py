"""load_hub: checked calls with errors that name the expected input."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.export import LoadedEncoder
from keras_infomin.export import export_hub
from keras_infomin.export import load_hub
from tests.export import encoders


@pytest.fixture
def exported(tmp_path):
    encoder = encoders.mlp_bn_dropout()
    return encoder, export_hub(encoder, str(tmp_path / "encoder"))


def test_calls_match_the_encoder(exported):
    encoder, path = exported
    loaded = load_hub(path)
    assert isinstance(loaded, LoadedEncoder)
    assert loaded.input_signature.shape.as_list() == [None, 6]
    x = encoders.data((5, 6))
    np.testing.assert_allclose(loaded(x), encoder(x, training=False), atol=1e-5)
    # float64 input is cast to the exported float32.
    np.testing.assert_allclose(
        loaded(x.astype("float64")), encoder(x, training=False), atol=1e-5
    )
    out = loaded.serve(inputs=tf.constant(x))
    np.testing.assert_allclose(
        out["outputs"], encoder(x, training=False), atol=1e-5
    )
    assert len(loaded.trainable_variables) == 6
    assert len(loaded.regularization_losses) == 1
    assert loaded(x, training=True).shape == (5, 4)


def test_wrong_inputs_are_explained(exported):
    _, path = exported
    loaded = load_hub(path)
    with pytest.raises(
        ValueError, match=r"shape \(None, 6\).*received \(2, 5\)"
    ):
        loaded(np.zeros((2, 5), "float32"))
    with pytest.raises(ValueError, match=r"shape \(None, 6\).*received \(6,\)"):
        loaded(np.zeros(6, "float32"))
    with pytest.raises(TypeError, match="dtype float32; received int32"):
        loaded(np.zeros((2, 6), "int32"))
    with pytest.raises(ValueError, match="structure"):
        loaded({"a": np.zeros((2, 6), "float32")})
    with pytest.raises(TypeError, match="Python bool"):
        loaded(np.zeros((2, 6), "float32"), training=tf.constant(True))


def test_dict_inputs(tmp_path):
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    encoder = keras.Model(
        {"a": a, "b": b},
        keras.layers.Dense(2)(keras.layers.Concatenate()([a, b])),
    )
    loaded = load_hub(export_hub(encoder, str(tmp_path / "e")))
    x = {"a": encoders.data((2, 3)), "b": encoders.data((2, 2), 1)}
    np.testing.assert_allclose(loaded(x), encoder(x), atol=1e-5)
    with pytest.raises(ValueError, match=r"'b' must have shape \(None, 2\)"):
        loaded({"a": x["a"], "b": np.zeros((2, 3), "float32")})


def test_not_a_saved_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a SavedModel"):
        load_hub(str(tmp_path))


def test_saved_model_without_reusable_call(tmp_path):
    module = tf.Module()
    module.f = tf.function(lambda x: x, input_signature=[tf.TensorSpec([2])])
    tf.saved_model.save(module, str(tmp_path / "plain"))
    with pytest.raises(ValueError, match="not written by export_hub"):
        load_hub(str(tmp_path / "plain"))


def test_export_without_serving_signature(tmp_path):
    path = export_hub(encoders.mlp_bn(), str(tmp_path / "e"), serving=False)
    loaded = load_hub(path)
    assert "serving_default" not in loaded.signatures
    with pytest.raises(ValueError, match="without a serving signature"):
        loaded.serve(inputs=tf.zeros((1, 6)))
