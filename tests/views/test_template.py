"""What the view template (`ViewLayer` / `RandomViewLayer`) owns for every
layer: value range, dtype policy, single-channel images, the training flag
and seeds for a layer that only draws and applies its parameters."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import views
from keras_infomin.testing import run_layer_test
from keras_infomin.views import image_ops
from tests.views import sweep
from tests.views.helpers import random_images


def levels(shape, seed=0):
    """Images on the 8-bit grid, as floats in [0, 255]."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=shape).astype("float32")


# ----------------------------------------------------------------- range
@pytest.mark.parametrize("name", sweep.PRESETS + ("RandAugment", "ColorJitter"))
def test_value_range_255_gives_the_unit_range_views_scaled(name):
    # Same seed, same draws: the (0, 255) layer on 255 x gives 255 times
    # the (0, 1) layer's views of x.
    x255 = levels((6, 16, 16, 3))
    unit = sweep.LAYERS[name]()
    wide = sweep.LAYERS[name]()
    wide.value_range = (0.0, 255.0)
    expected = np.asarray(unit(x255 / 255.0)) * 255.0
    got = np.asarray(wide(x255))
    assert got.min() >= 0.0 and got.max() <= 255.0
    np.testing.assert_allclose(got, expected, atol=2e-3)


@pytest.mark.parametrize("name", sweep.PRESETS + ("RandAugment",))
def test_out_of_range_images_are_refused(name):
    layer = sweep.LAYERS[name]()
    with pytest.raises(ValueError, match=r"value_range=\(0, 1\)"):
        layer(levels((4, 16, 16, 3)))
    nan = random_images((2, 16, 16, 3))
    nan[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        layer(nan)
    # Rounding of the caller's own rescaling (1e-3 of the range) is
    # clipped, not refused.
    near = random_images((2, 16, 16, 3)) * 1.0005 - 0.0002
    out = np.asarray(layer(near))
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_out_of_range_images_are_refused_in_graphs():
    # The check belongs to the template: one layer shows it in graphs.
    layer = views.ColorJitter(0.4, seed=1)
    x255 = levels((4, 16, 16, 3))
    traced = tf.function(lambda t: layer(t))
    with pytest.raises(tf.errors.InvalidArgumentError, match="value_range"):
        traced(x255)
    dataset = tf.data.Dataset.from_tensor_slices(x255).batch(4).map(layer)
    with pytest.raises(tf.errors.InvalidArgumentError, match="value_range"):
        next(iter(dataset))
    assert traced(x255 / 255.0).shape == x255.shape


def test_layers_that_only_move_pixels_take_any_values():
    coords = np.arange(2 * 8 * 8 * 3, dtype="float32").reshape(2, 8, 8, 3)
    flipped = views.RandomHorizontalFlip(1.0)(coords)
    np.testing.assert_array_equal(flipped, coords[:, :, ::-1])
    crop = views.RandomResizedCrop(8, 8)(coords, training=False)
    np.testing.assert_allclose(crop, coords, atol=1e-3)
    # ... unless a range is given, which is then checked.
    with pytest.raises(ValueError, match="value_range"):
        views.RandomHorizontalFlip(1.0, value_range=(0, 255))(coords)


def test_containers_take_their_layers_range_and_refuse_two():
    x255 = levels((8, 8, 8, 3))
    jitter = views.ColorJitter(0.5, value_range=(0, 255), seed=1)
    apply = views.RandomApply(jitter, rate=0.5, seed=2)
    out = np.asarray(views.Views(apply)(x255)[0])
    assert out.max() > 1.0 and out.max() <= 255.0
    with pytest.raises(ValueError, match="different value ranges"):
        views.Compose(
            [
                views.ColorJitter(0.5, value_range=(0, 255)),
                views.GaussianBlur(value_range=(0, 1)),
            ]
        )
    with pytest.raises(ValueError, match="outermost"):
        views.RandomApply(jitter, value_range=(0, 1))
    with pytest.raises(ValueError, match="value_range"):
        views.ColorJitter(0.5, value_range=(1, 0))
    # Layers that are not view layers get the images in the range.
    invert = views.RandomApply(lambda x: 255.0 - x, 1.0, value_range=(0, 255))
    np.testing.assert_allclose(invert(x255), 255.0 - x255, atol=1e-4)


def test_value_range_travels_in_the_config():
    layer = views.InfoMinAugment(16, seed=3, value_range=(-1, 1))
    rebuilt = views.Compose.from_config(layer.get_config())
    assert rebuilt.value_range == (-1.0, 1.0)
    x = random_images((4, 16, 16, 3)) * 2 - 1
    np.testing.assert_allclose(rebuilt(x), layer(x), atol=1e-6)


# ----------------------------------------------------------------- dtype
@pytest.fixture
def mixed(request):
    keras.mixed_precision.set_global_policy(request.param)
    yield request.param
    keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize(
    "mixed", ["mixed_bfloat16", "mixed_float16"], indirect=True
)
def test_mixed_policies_give_the_float32_views_in_the_compute_dtype(mixed):
    # The work is done in float32: the mixed output is the float32 output
    # rounded once to the compute dtype.
    x = random_images((8, 16, 16, 3))
    for name in ("InfoMinAugment", "RandomChoice", "JigSaw", "ColorSpace"):
        layer = sweep.LAYERS[name]()
        reference = sweep.LAYERS[name]()
        reference.dtype_policy = "float32"
        assert layer.compute_dtype == mixed.split("_")[1]
        for got, want in zip(
            sweep.flat_outputs(layer(x)), sweep.flat_outputs(reference(x))
        ):
            if want.dtype.is_floating:
                assert got.dtype == mixed.split("_")[1]
                want = tf.cast(want, got.dtype)
            np.testing.assert_array_equal(got.numpy(), want.numpy())
    # A layer given dtype="float32" keeps float32 under a mixed policy.
    full = views.SimCLRAugment(12, dtype="float32")
    assert full(x).dtype == tf.float32


@pytest.mark.parametrize("mixed", ["mixed_bfloat16"], indirect=True)
def test_layer_test_under_a_mixed_policy(mixed):
    x = random_images((4, 16, 16, 3))
    run_layer_test(views.InfoMinAugment(12, seed=1), (x,))


# ------------------------------------------------------------------ grey
@pytest.mark.parametrize("name", sweep.PRESETS)
def test_presets_on_grey_images(name):
    grey = random_images((16, 16, 16, 1))
    layer = sweep.LAYERS[name]()
    out = np.asarray(layer(grey))
    assert out.shape[-1] == 1 and out.min() >= 0 and out.max() <= 1
    assert np.asarray(layer(grey, training=False)).shape[-1] == 1


def test_colour_only_changes_leave_grey_images_unchanged():
    grey = random_images((16, 8, 8, 1))
    for layer in (
        views.ColorJitter(saturation=0.8, hue=0.3),
        views.RandAugment(rate=1.0, ops=["color"]),
        views.RandomGrayscale(1.0),
    ):
        np.testing.assert_array_equal(layer(grey), grey)
    # The brightness still applies.
    assert not np.allclose(views.ColorJitter(brightness=0.8)(grey), grey)


def test_rand_augment_fills_grey_images_with_the_fill_luma():
    grey = np.zeros((4, 9, 9, 1), "float32")
    out = np.asarray(
        views.RandAugment(
            num_ops=1, magnitude=10, magnitude_std=0, rate=1.0, ops=["rotate"]
        )(grey)
    )
    luma = sum(
        w * v for w, v in zip(image_ops.LUMA_WEIGHTS, (0.485, 0.456, 0.406))
    )
    # 30 degrees bring the fill into the corners.
    np.testing.assert_allclose(out[:, 0, 0, 0], luma, atol=1e-5)


def test_other_channel_counts_name_the_layer():
    four = random_images((2, 16, 16, 4))
    with pytest.raises(ValueError, match=r"ColorJitter .* 1 or 3 channels"):
        views.InfoMinAugment(12)(four)
    with pytest.raises(ValueError, match=r"RandAugment .* 1 or 3 channels"):
        views.RandAugment()(four)
    # Layers that do not mix channels take any number.
    crop_blur = views.Compose(
        [views.RandomResizedCrop(8, 8), views.GaussianBlur()]
    )
    assert crop_blur(four).shape == (2, 8, 8, 4)


# -------------------------------------------------------------- template
class AddNoise(views.RandomViewLayer):
    """A layer written on the template: it only draws and applies."""

    def __init__(self, scale=0.1, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def sample_parameters(self, images, seed):
        return self.scale * tf.random.stateless_normal(tf.shape(images), seed)

    def augment(self, images, noise, training):
        return images + noise

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def test_a_layer_on_the_template_gets_the_rest():
    x255 = levels((4, 8, 8, 3))
    layer = AddNoise(0.5, value_range=(0, 255), seed=1)
    out = np.asarray(layer(x255))
    assert out.shape == x255.shape
    assert 0 <= out.min() and out.max() <= 255  # clipped to the range
    assert not np.allclose(out, x255)
    np.testing.assert_array_equal(layer(x255, training=False), x255)
    assert layer(x255[0]).shape == x255.shape[1:]
    again = AddNoise.from_config(layer.get_config())
    np.testing.assert_array_equal(
        again(x255), AddNoise(**layer.get_config())(x255)
    )
    recipe = views.Compose([views.RandomHorizontalFlip(), AddNoise(0.1)])
    assert recipe(x255 / 255.0).shape == x255.shape
