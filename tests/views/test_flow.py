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
