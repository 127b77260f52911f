import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import views
from keras_infomin.testing import assert_config_round_trip


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
    generator = views.FlowViewGenerator(coupling=coupling, input_space=space)
    generator(images)
    _trained_like(generator)
    y = generator.transform(images)
    assert np.abs(y.numpy() - images).max() > 0.05  # far from identity
    np.testing.assert_allclose(generator.inverse(y).numpy(), images, atol=1e-4)


def test_starts_near_a_plain_channel_split():
    images = _images()
    v1, v2 = views.FlowViewGenerator()(images)
    np.testing.assert_allclose(v1.numpy(), images[..., :1], atol=0.05)
    np.testing.assert_allclose(v2.numpy(), images[..., 1:], atol=0.05)


def test_additive_flow_is_volume_preserving():
    images = _images()
    generator = views.FlowViewGenerator(coupling="additive")
    generator(images)
    _trained_like(generator)
    np.testing.assert_array_equal(generator.log_det(images).numpy(), 0.0)


def test_affine_log_det_matches_the_pixel_jacobians():
    images = _images(n=2, size=2).astype("float64")
    generator = views.FlowViewGenerator(coupling="affine", dtype="float64")
    generator(images)
    _trained_like(generator, scale=0.5)
    log_det = generator.log_det(images).numpy()
    expected = np.zeros(len(images))
    for b in range(len(images)):
        for i in range(2):
            for j in range(2):
                pixel = tf.constant(images[b : b + 1, i : i + 1, j : j + 1])
                with tf.GradientTape() as tape:
                    tape.watch(pixel)
                    out = generator.transform(pixel)
                jac = tape.jacobian(out, pixel).numpy().reshape(3, 3)
                expected[b] += np.linalg.slogdet(jac)[1]
    np.testing.assert_allclose(log_det, expected, rtol=1e-5)


def test_views_follow_the_split():
    images = _images()
    generator = views.FlowViewGenerator(split=((1,), (0,), (2,)))
    outputs = generator(images)
    assert [o.shape[-1] for o in outputs] == [1, 1, 1]
    y = generator.transform(images).numpy()
    np.testing.assert_allclose(outputs[0].numpy(), y[..., 1:2])
    np.testing.assert_allclose(outputs[2].numpy(), y[..., 2:3])


def test_config_round_trip_rebuilds_the_same_views():
    images = _images()
    generator = views.FlowViewGenerator(input_space="lab", seed=3)
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
        num_couplings=2,
        hidden_units=(8,),
        input_space="ydbdr",
        split=((2,), (0, 1)),
        seed=5,
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
        views.FlowViewGenerator(split=((0,), (1,)))
    with pytest.raises(ValueError, match="split"):
        views.FlowViewGenerator(split=((0, 1, 2),))
    with pytest.raises(ValueError, match="RGB images"):
        views.FlowViewGenerator()(np.ones((2, 4, 4, 1), "float32"))
    with pytest.raises(ValueError, match="RGB images"):
        views.FlowViewGenerator()(np.ones((4, 4, 3), "float32"))
    with pytest.raises(ValueError, match="input_space"):
        views.FlowViewGenerator(input_space="cmyk")
