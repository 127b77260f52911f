"""export_hub: the SavedModel works with hub.KerasLayer (tf-keras),
tf.saved_model.load, keras.layers.TFSMLayer and its serving signature.

References are the Keras 3 encoders themselves (outputs, gradients) and
numpy (regularization penalty, dropout pattern).
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.export import export_hub
from tests.export import encoders

hub = pytest.importorskip("tensorflow_hub")
tf_keras = pytest.importorskip("tf_keras")

ATOL = 1e-5


def _export(encoder, tmp_path, name="encoder", **kwargs):
    return export_hub(encoder, str(tmp_path / name), **kwargs)


@pytest.mark.parametrize(
    "make, shape",
    [
        (encoders.mlp_bn_dropout, (5, 6)),
        (encoders.convnet_bn, (3, 8, 8, 3)),
    ],
)
def test_hub_keras_layer_and_saved_model_load_reproduce_outputs(
    make, shape, tmp_path
):
    encoder = make()
    x = encoders.data(shape)
    path = _export(encoder, tmp_path)
    expected = encoder(x, training=False).numpy()

    layer = hub.KerasLayer(path, trainable=True)
    model = tf_keras.Sequential([tf_keras.Input(shape[1:]), layer])
    np.testing.assert_allclose(model(x, training=False), expected, atol=ATOL)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=ATOL)

    loaded = tf.saved_model.load(path)
    np.testing.assert_allclose(loaded(x), expected, atol=ATOL)
    np.testing.assert_allclose(loaded(x, training=False), expected, atol=ATOL)

    tfsm = keras.layers.TFSMLayer(path)
    np.testing.assert_allclose(tfsm(x), expected, atol=ATOL)

    serving = loaded.signatures["serving_default"]
    assert list(serving.structured_input_signature[1]) == ["inputs"]
    out = serving(inputs=tf.constant(x))
    assert list(out) == ["outputs"]
    np.testing.assert_allclose(out["outputs"], expected, atol=ATOL)


def test_reusable_savedmodel_attributes(tmp_path):
    encoder = encoders.mlp_bn_dropout()
    loaded = tf.saved_model.load(_export(encoder, tmp_path))
    assert len(loaded.trainable_variables) == len(encoder.trainable_variables)
    assert len(loaded.variables) == len(encoder.variables)
    for got, want in zip(
        loaded.trainable_variables, encoder.trainable_variables
    ):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    # Both traces are stored: training is a Python bool for hub.KerasLayer.
    traced = {
        fn.structured_input_signature[0][1]
        for fn in loaded.__call__.concrete_functions
    }
    assert traced == {True, False}
    # Penalty of the L2 kernel regularizer, from numpy.
    kernel = encoder.layers[1].kernel.numpy()
    expected = 0.01 * np.sum(kernel**2)
    assert len(loaded.regularization_losses) == 1
    np.testing.assert_allclose(
        loaded.regularization_losses[0](), expected, rtol=1e-5
    )
    layer = hub.KerasLayer(str(tmp_path / "encoder"), trainable=True)
    model = tf_keras.Sequential([tf_keras.Input((6,)), layer])
    np.testing.assert_allclose(tf.add_n(model.losses), expected, rtol=1e-5)


def test_batch_norm_follows_training(tmp_path):
    encoder = encoders.mlp_bn()
    path = _export(encoder, tmp_path)
    x = encoders.data((16, 6)) * 3.0 + 1.0
    layer = hub.KerasLayer(path, trainable=True)
    infer = layer(x, training=False).numpy()
    train = layer(x, training=True).numpy()
    np.testing.assert_allclose(infer, encoder(x, training=False), atol=ATOL)
    # Batch statistics in training mode (the moving averages start at 0/1,
    # far from the statistics of x, so the two modes differ).
    np.testing.assert_allclose(train, encoder(x, training=True), atol=ATOL)
    assert np.abs(train - infer).max() > 1e-2
    # The training call updated the moving mean like the Keras encoder's.
    bn = encoder.layers[2]
    moved = [
        w.numpy()
        for w in layer.non_trainable_weights
        if "moving_mean" in w.name
    ]
    assert len(moved) == 1
    np.testing.assert_allclose(moved[0], bn.moving_mean.numpy(), atol=ATOL)
    assert np.abs(bn.moving_mean.numpy()).max() > 1e-2


def test_dropout_follows_training(tmp_path):
    encoder = encoders.dense_dropout(rate=0.5)
    path = _export(encoder, tmp_path)
    x = encoders.data((8, 6))
    loaded = tf.saved_model.load(path)
    infer = loaded(x, training=False).numpy()
    np.testing.assert_allclose(infer, encoder(x, training=False), atol=ATOL)
    first = loaded(x, training=True).numpy()
    second = loaded(x, training=True).numpy()
    # Inverted dropout: every unit is either dropped or scaled by 1/(1-rate).
    for out in (first, second):
        dropped = np.isclose(out, 0.0)
        np.testing.assert_allclose(
            out[~dropped], 2.0 * infer[~dropped], rtol=1e-5
        )
        assert 0.3 < dropped.mean() < 0.7
    assert not np.array_equal(first, second)  # fresh masks per call


def test_fine_tuning_through_hub_keras_layer(tmp_path):
    encoder = encoders.mlp_bn_dropout()
    path = _export(encoder, tmp_path)
    x = encoders.data((64, 6))
    y = np.tanh(x[:, :1] - 0.5 * x[:, 1:2]).astype("float32")

    # Gradients of a fixed function of the outputs equal the Keras ones.
    layer = hub.KerasLayer(path, trainable=True)
    w = encoders.data((1, 4), seed=5)
    with tf.GradientTape() as tape:
        hub_value = tf.reduce_sum(layer(x, training=False) * w)
    hub_grads = tape.gradient(hub_value, layer.trainable_weights)
    with tf.GradientTape() as tape:
        ref_value = tf.reduce_sum(encoder(x, training=False) * w)
    ref_grads = tape.gradient(ref_value, encoder.trainable_variables)
    assert len(hub_grads) == len(ref_grads) == 6
    for got, want in zip(hub_grads, ref_grads):
        assert got is not None
        np.testing.assert_allclose(got, want, atol=ATOL)

    # fit: the loss falls and every hub weight moves.
    layer = hub.KerasLayer(path, trainable=True)
    model = tf_keras.Sequential(
        [tf_keras.Input((6,)), layer, tf_keras.layers.Dense(1)]
    )
    model.compile(optimizer=tf_keras.optimizers.Adam(0.02), loss="mse")
    before = [v.numpy().copy() for v in layer.trainable_weights]
    history = model.fit(x, y, batch_size=16, epochs=6, verbose=0, shuffle=False)
    losses = history.history["loss"]
    assert losses[-1] < 0.7 * losses[0]
    for old, new in zip(before, layer.trainable_weights):
        assert np.abs(new.numpy() - old).max() > 1e-4


def test_training_mode_gradients_with_batch_norm(tmp_path):
    encoder = encoders.mlp_bn()
    path = _export(encoder, tmp_path)
    x = encoders.data((16, 6))
    loaded = tf.saved_model.load(path)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(tf.square(loaded(x, training=True)))
    got = tape.gradient(value, loaded.trainable_variables)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(tf.square(encoder(x, training=True)))
    want = tape.gradient(value, encoder.trainable_variables)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=ATOL)


@keras.saving.register_keras_serializable(package="keras_infomin_tests")
class HalfGradient(keras.layers.Layer):
    """Identity whose gradient is halved (a custom gradient)."""

    def call(self, x):
        @keras.ops.custom_gradient
        def half(t):
            def grad(*args, upstream=None):
                upstream = args[0] if upstream is None else upstream
                return 0.5 * upstream

            return keras.ops.multiply(t, 1.0), grad

        return half(x)


def test_custom_gradients_survive_export(tmp_path):
    inputs = keras.Input((3,))
    h = keras.layers.Dense(3, name="inner")(inputs)
    encoder = keras.Model(inputs, keras.layers.Dense(2)(HalfGradient()(h)))
    loaded = tf.saved_model.load(_export(encoder, tmp_path))
    x = encoders.data((4, 3))
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(loaded(x))
    got = tape.gradient(value, loaded.trainable_variables)
    with tf.GradientTape() as tape:
        value = tf.reduce_sum(encoder(x))
    want = tape.gradient(value, encoder.trainable_variables)
    # Independent check of the inner kernel's gradient: 0.5 * x^T 1 W2^T.
    w2 = encoder.layers[-1].kernel.numpy()
    inner = 0.5 * x.T @ np.ones((4, 2), "float32") @ w2.T
    np.testing.assert_allclose(want[0], inner, rtol=1e-5)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, atol=ATOL)


def test_custom_names_and_dict_inputs(tmp_path):
    a = keras.Input((3,), name="left")
    b = keras.Input((2,), name="right")
    h = keras.layers.Concatenate()([a, b])
    encoder = keras.Model(
        {"left": a, "right": b},
        {"z": keras.layers.Dense(4)(h), "p": keras.layers.Dense(2)(h)},
    )
    path = _export(encoder, tmp_path, output_name="unused")
    loaded = tf.saved_model.load(path)
    x = {"left": encoders.data((2, 3)), "right": encoders.data((2, 2), 1)}
    expected = encoder(x)
    serving = loaded.signatures["serving_default"]
    assert sorted(serving.structured_input_signature[1]) == ["left", "right"]
    out = serving(left=tf.constant(x["left"]), right=tf.constant(x["right"]))
    assert sorted(out) == ["p", "z"]
    for key in ("p", "z"):
        np.testing.assert_allclose(out[key], expected[key], atol=ATOL)
        np.testing.assert_allclose(loaded(x)[key], expected[key], atol=ATOL)

    single = encoders.mlp_bn()
    path = _export(
        single, tmp_path, "named", input_name="pixels", output_name="embedding"
    )
    serving = tf.saved_model.load(path).signatures["serving_default"]
    assert list(serving.structured_input_signature[1]) == ["pixels"]
    out = serving(pixels=tf.constant(encoders.data((2, 6))))
    assert list(out) == ["embedding"]


def test_subclassed_model_built_on_data_and_explicit_signature(tmp_path):
    class Encoder(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(3)
            self.bn = keras.layers.BatchNormalization()

        def call(self, x, training=False):
            return self.bn(self.dense(x), training=training)

    encoder = Encoder()
    x = encoders.data((4, 5))
    encoder(x)
    loaded = tf.saved_model.load(_export(encoder, tmp_path))
    np.testing.assert_allclose(loaded(x), encoder(x), atol=ATOL)
    np.testing.assert_allclose(
        loaded(x, training=True), encoder(x, training=True), atol=ATOL
    )
    # An explicit signature fixes what could not be inferred.
    spec = tf.TensorSpec((None, 5), tf.float32)
    path = _export(encoder, tmp_path, "explicit", input_signature=spec)
    np.testing.assert_allclose(
        tf.saved_model.load(path)(x), encoder(x), atol=ATOL
    )


def test_encoder_trained_under_mirrored_strategy(tmp_path):
    from keras_infomin.distribute import get_strategy

    strategy = get_strategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        encoder = encoders.mlp_bn()
        encoder.compile(optimizer="sgd", loss="mse")
    x = encoders.data((8, 6))
    encoder.fit(x, np.zeros((8, 4), "float32"), batch_size=8, verbose=0)
    path = _export(encoder, tmp_path)
    np.testing.assert_allclose(
        tf.saved_model.load(path)(x), encoder(x, training=False), atol=ATOL
    )


def test_overwrite_and_refusals(tmp_path):
    encoder = encoders.mlp_bn()
    path = _export(encoder, tmp_path)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_hub(encoder, path)
    # overwrite=True replaces the export with the new weights.
    encoder.layers[1].kernel.assign(np.zeros((6, 8), "float32"))
    export_hub(encoder, path, overwrite=True)
    x = encoders.data((3, 6))
    np.testing.assert_allclose(
        tf.saved_model.load(path)(x), encoder(x), atol=ATOL
    )
    # A directory that is not a SavedModel is never deleted.
    other = tmp_path / "notes"
    other.mkdir()
    (other / "keep.txt").write_text("important")
    with pytest.raises(FileExistsError, match="not a SavedModel"):
        export_hub(encoder, str(other), overwrite=True)
    assert (other / "keep.txt").read_text() == "important"
    # No partial directories are left behind.
    assert sorted(os.listdir(tmp_path)) == ["encoder", "notes"]


def test_unbuilt_encoder_is_refused_with_a_hint(tmp_path):
    encoder = keras.Sequential([keras.layers.Dense(3)])
    with pytest.raises(ValueError, match=r"not built.*input_signature"):
        export_hub(encoder, str(tmp_path / "x"))
    assert not (tmp_path / "x").exists()
    path = export_hub(
        encoder, str(tmp_path / "y"), input_signature=(None, 4), verify=True
    )
    x = encoders.data((2, 4))
    np.testing.assert_allclose(tf.saved_model.load(path)(x), encoder(x))


def test_bad_arguments(tmp_path):
    encoder = encoders.mlp_bn()
    with pytest.raises(TypeError, match="Keras 3 model or layer"):
        export_hub(object(), str(tmp_path / "a"))
    with pytest.raises(ValueError, match="input_name"):
        export_hub(encoder, str(tmp_path / "a"), input_name="my input")
    with pytest.raises(TypeError, match="path"):
        export_hub(encoder, 3)
    with pytest.raises(TypeError, match="input_signature"):
        export_hub(encoder, str(tmp_path / "a"), input_signature="(None, 6)")


def test_verification_catches_trace_time_python_state(tmp_path):
    class Drifting(keras.layers.Layer):
        """Adds a Python counter: traced once, then stale in the export."""

        def __init__(self):
            super().__init__()
            self.calls = 0

        def call(self, x):
            self.calls += 1
            return x + float(self.calls)

    layer = Drifting()
    layer(np.zeros((1, 2), "float32"))
    with pytest.raises(RuntimeError, match="does not reproduce"):
        export_hub(layer, str(tmp_path / "drift"))
    assert os.listdir(tmp_path) == []


def test_wrong_input_shape_through_the_signatures(tmp_path):
    path = _export(encoders.mlp_bn(), tmp_path)
    loaded = tf.saved_model.load(path)
    with pytest.raises((ValueError, TypeError), match="matching concrete"):
        loaded(np.zeros((2, 5), "float32"))
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError)):
        loaded.signatures["serving_default"](inputs=tf.zeros((2, 5)))
