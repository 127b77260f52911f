import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import views
from keras_infomin.encoders import RealNVP
from keras_infomin.testing import assert_config_round_trip


def _flow(num_couplings=4, hidden_units=(32, 32), coupling="affine", **kw):
    """A small flow near the identity, as the InfoMin generator uses."""
    kw = {"init_std": 1e-3, "seed": 0, **kw}
    return RealNVP(num_couplings, hidden_units, coupling=coupling, **kw)


def _images(n=3, size=5, seed=0):
    return (
        np.random.default_rng(seed).random((n, size, size, 3)).astype("float32")
    )


def _trained_like(generator, scale=0.3, seed=0):
    """Moves the flow far from the identity, as training would."""
    rng = np.random.default_rng(seed)
    for w in generator.trainable_weights:
        w.assign(w.numpy() + scale * rng.normal(size=w.shape))


@pytest.mark.parametrize("coupling", ["additive", "affine"])
@pytest.mark.parametrize("space", ["rgb", "ydbdr"])
def test_inverse_recovers_the_images(coupling, space):
    images = _images()
    generator = views.FlowViewGenerator(
        _flow(coupling=coupling), input_space=space
    )
    generator(images)
    _trained_like(generator)
    y = generator.transform(images)
    assert np.abs(y.numpy() - images).max() > 0.05  # far from identity
    np.testing.assert_allclose(generator.inverse(y).numpy(), images, atol=1e-4)


def test_starts_near_a_plain_channel_split():
    images = _images()
    v1, v2 = views.FlowViewGenerator(_flow())(images)
    np.testing.assert_allclose(v1.numpy(), images[..., :1], atol=0.05)
    np.testing.assert_allclose(v2.numpy(), images[..., 1:], atol=0.05)


def test_additive_flow_is_volume_preserving():
    images = _images()
    generator = views.FlowViewGenerator(_flow(coupling="additive"))
    generator(images)
    _trained_like(generator)
    np.testing.assert_array_equal(generator.log_det(images).numpy(), 0.0)


def test_affine_log_det_matches_the_pixel_jacobians():
    images = _images(n=2, size=2).astype("float64")
    generator = views.FlowViewGenerator(_flow(dtype="float64"), dtype="float64")
    generator(images)
    _trained_like(generator, scale=0.5)
    log_det = generator.log_det(images).numpy()
    # The flow acts on each pixel alone: every pixel as a 1 x 1 image, all
    # their 3 x 3 Jacobians at once.
    pixels = tf.constant(images.reshape(-1, 1, 1, 3))
    with tf.GradientTape() as tape:
        tape.watch(pixels)
        out = generator.transform(pixels)
    jacobians = tape.batch_jacobian(out, pixels).numpy().reshape(-1, 3, 3)
    per_pixel = np.linalg.slogdet(jacobians)[1]
    expected = per_pixel.reshape(len(images), -1).sum(axis=1)
    np.testing.assert_allclose(log_det, expected, rtol=1e-5)


def test_views_follow_the_split():
    images = _images()
    generator = views.FlowViewGenerator(_flow(), split=((1,), (0,), (2,)))
    outputs = generator(images)
    assert [o.shape[-1] for o in outputs] == [1, 1, 1]
    y = generator.transform(images).numpy()
    np.testing.assert_allclose(outputs[0].numpy(), y[..., 1:2])
    np.testing.assert_allclose(outputs[2].numpy(), y[..., 2:3])


def test_standardized_views_use_batch_then_running_statistics():
    images = _images(n=4, size=6)
    generator = views.FlowViewGenerator(_flow(), standardize=True, momentum=0.5)
    generator(images)
    _trained_like(generator)
    y = generator.transform(images).numpy().astype("float64")
    # Training: each output channel standardised with the batch's mean and
    # (biased) variance over images and pixels; the flow is unchanged.
    mean, var = y.mean(axis=(0, 1, 2)), y.var(axis=(0, 1, 2))
    expected = (y - mean) / np.sqrt(var + 1e-6)
    v1, v2 = generator(images, training=True)
    np.testing.assert_allclose(v1.numpy(), expected[..., :1], atol=1e-4)
    np.testing.assert_allclose(v2.numpy(), expected[..., 1:], atol=1e-4)
    np.testing.assert_allclose(generator.transform(images).numpy(), y, 1e-5)
    # Inference: the running averages, moved once from (0, 1) towards the
    # batch's mean and variance with momentum 0.5.
    running_mean = 0.5 * mean
    running_var = 0.5 + 0.5 * var
    v1, v2 = generator(images, training=False)
    expected = (y - running_mean) / np.sqrt(running_var + 1e-6)
    np.testing.assert_allclose(v1.numpy(), expected[..., :1], atol=1e-4)
    np.testing.assert_allclose(v2.numpy(), expected[..., 1:], atol=1e-4)
    # The standardiser adds no trainable weight: the game moves the flow.
    flow_weights = {id(w) for w in generator.flow.trainable_weights}
    assert {id(w) for w in generator.trainable_weights} == flow_weights
    rebuilt = assert_config_round_trip(generator)
    assert rebuilt.standardize and rebuilt.momentum == 0.5


def test_standardize_momentum_must_lie_in_zero_one():
    with pytest.raises(ValueError, match="momentum"):
        views.FlowViewGenerator(_flow(), standardize=True, momentum=1.0)


def test_config_round_trip_rebuilds_the_same_views():
    images = _images()
    generator = views.FlowViewGenerator(_flow(seed=3), input_space="lab")
    generator(images)
    _trained_like(generator)
    rebuilt = assert_config_round_trip(generator)
    rebuilt(images)
    rebuilt.set_weights(generator.get_weights())
    for a, b in zip(rebuilt(images), generator(images)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)


def test_keras_file_round_trip_restores_the_learned_flow(tmp_path):
    images = _images(n=4, size=6)
    generator = views.FlowViewGenerator(
        _flow(2, (8,), seed=5),
        input_space="ydbdr",
        split=((2,), (0, 1)),
    )
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, generator(inputs))
    _trained_like(generator, seed=1)
    expected = [t.numpy() for t in model(images)]
    assert [e.shape for e in expected] == [(4, 6, 6, 1), (4, 6, 6, 2)]
    path = str(tmp_path / "flow.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for a, b in zip(loaded(images), expected):
        np.testing.assert_allclose(a.numpy(), b, atol=1e-6)
    restored = loaded.layers[-1]
    assert isinstance(restored, views.FlowViewGenerator)
    assert restored.get_config() == generator.get_config()
    # The restored flow is still exactly invertible, with the same log-det.
    y = restored.transform(images)
    np.testing.assert_allclose(restored.inverse(y).numpy(), images, atol=1e-4)
    np.testing.assert_allclose(
        restored.log_det(images).numpy(),
        generator.log_det(images).numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    # The config alone (fresh weights near the identity) gives other views.
    fresh = views.FlowViewGenerator.from_config(generator.get_config())
    assert not np.allclose(fresh(images)[0].numpy(), expected[0], atol=1e-2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="split"):
        views.FlowViewGenerator(_flow(), split=((0,), (1,)))
    with pytest.raises(ValueError, match="split"):
        views.FlowViewGenerator(_flow(), split=((0, 1, 2),))
    with pytest.raises(ValueError, match="RGB images"):
        views.FlowViewGenerator(_flow())(np.ones((2, 4, 4, 1), "float32"))
    with pytest.raises(ValueError, match="RGB images"):
        views.FlowViewGenerator(_flow())(np.ones((4, 4, 3), "float32"))
    with pytest.raises(ValueError, match="input_space"):
        views.FlowViewGenerator(_flow(), input_space="cmyk")


def test_transform_before_the_first_call():
    images = _images()
    generator = views.FlowViewGenerator(_flow())
    y = generator.transform(images)
    first, second = generator(images)
    np.testing.assert_allclose(first.numpy(), y.numpy()[..., :1], atol=1e-6)
    np.testing.assert_allclose(second.numpy(), y.numpy()[..., 1:], atol=1e-6)
    # A flow built before it was handed over is kept as it is.
    flow = _flow()
    flow.build((None, 5, 5, 3))
    kernels = [w.numpy() for w in flow.weights]
    generator = views.FlowViewGenerator(flow)
    generator(images)
    for a, b in zip(kernels, generator.weights):
        np.testing.assert_array_equal(a, b.numpy())


# What `keras.saving.serialize_keras_object` wrote for
# FlowViewGenerator(num_couplings=2, hidden_units=(8,), coupling="additive",
# input_space="ydbdr", seed=5) when the generator built its own flow.
SAVED_BEFORE_THE_FLOW_ARGUMENT = {
    "module": "keras_infomin.views.flow",
    "class_name": "FlowViewGenerator",
    "config": {
        "name": "flow_view_generator",
        "trainable": True,
        "dtype": {
            "module": "keras",
            "class_name": "DTypePolicy",
            "config": {"name": "float32"},
            "registered_name": None,
        },
        "num_couplings": 2,
        "hidden_units": [8],
        "coupling": "additive",
        "input_space": "ydbdr",
        "split": [[0], [1, 2]],
        "init_std": 0.001,
        "seed": 5,
    },
    "registered_name": "keras_infomin>FlowViewGenerator",
}


def test_configs_saved_before_the_flow_argument_load():
    loaded = keras.saving.deserialize_keras_object(
        SAVED_BEFORE_THE_FLOW_ARGUMENT
    )
    assert isinstance(loaded, views.FlowViewGenerator)
    assert loaded.input_space == "ydbdr" and loaded.split == ((0,), (1, 2))
    flow = loaded.flow
    assert isinstance(flow, RealNVP)
    assert (flow.num_couplings, flow.hidden_units) == (2, [8])
    assert (flow.coupling, flow.init_std, flow.seed) == ("additive", 1e-3, 5)
    # Same permutations as the flow the old generator built.
    same = _flow(2, (8,), coupling="additive", seed=5)
    images = _images()
    loaded(images)
    same.build((None, 5, 5, 3))
    assert [p.tolist() for p in flow._perms] == [
        p.tolist() for p in same._perms
    ]


def test_old_arguments_name_the_replacement():
    with pytest.raises(TypeError, match="RealNVP"):
        views.FlowViewGenerator()
    with pytest.raises(TypeError, match="num_couplings"):
        views.FlowViewGenerator(num_couplings=2)
    with pytest.raises(TypeError, match="forward_and_log_det"):
        views.FlowViewGenerator(keras.layers.Dense(3))


def test_default_running_statistics_settle_within_a_short_game():
    """After 140 training steps (a short game: 6 epochs of 3,000 images
    at batch 128) the frozen generator's views are the views the game
    played on. The running averages start at (0, 1): with the default
    momentum (0.9) they keep 0.9**140 < 1e-6 of that start, small against
    a chroma channel's variance (about 0.003 for CIFAR-10's DbDr); with
    0.99 they would keep 0.24 of it, and divide such a channel by about
    0.5 instead of its spread, 0.05."""
    rng = np.random.default_rng(0)
    # Colour channels of unequal spread and mean, as in YDbDr.
    spread = np.array([0.2, 0.05, 0.05])
    images = (0.5 + rng.normal(size=(8, 6, 6, 3)) * spread).astype("float32")
    generator = views.FlowViewGenerator(_flow(), standardize=True)
    assert generator.momentum == 0.9
    for _ in range(140):
        trained = generator(images, training=True)
    frozen = generator(images, training=False)
    for a, b in zip(trained, frozen):
        np.testing.assert_allclose(b.numpy(), a.numpy(), atol=1e-3)
