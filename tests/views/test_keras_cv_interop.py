"""keras-cv augmentation layers as view transforms (runs when keras-cv is
installed; the package never imports it)."""

import pathlib

import numpy as np
import pytest
import tensorflow as tf

import keras_infomin
from keras_infomin.testing import assert_config_round_trip
from keras_infomin.views import RandomApply
from keras_infomin.views import RandomChoice
from keras_infomin.views import RandomResizedCrop
from keras_infomin.views import Views
from tests.views.helpers import random_images


def test_package_never_imports_keras_cv():
    # keras-cv is optional: no module of the package imports it.
    package = pathlib.Path(keras_infomin.__file__).parent
    for path in package.rglob("*.py"):
        text = path.read_text()
        assert "import keras_cv" not in text, path
        assert "from keras_cv" not in text, path


@pytest.fixture(scope="module")
def keras_cv():
    return pytest.importorskip("keras_cv")


def test_views_with_keras_cv_crop_in_batched_map(keras_cv):
    images = random_images((8, 32, 32, 3))
    crop = keras_cv.layers.RandomCropAndResize(
        (16, 16), crop_area_factor=(0.2, 1.0), aspect_ratio_factor=(0.75, 1.33)
    )
    views = Views(crop, num_views=2)
    ds = tf.data.Dataset.from_tensor_slices(images).batch(8).map(views)
    first, second = next(iter(ds))
    assert first.shape == (8, 16, 16, 3) and second.shape == (8, 16, 16, 3)
    assert not np.allclose(first, second)


def test_random_apply_and_choice_with_keras_cv_layers(keras_cv):
    images = random_images((16, 32, 32, 3))
    jitter = keras_cv.layers.RandomColorJitter(
        value_range=(0, 1),
        brightness_factor=0.5,
        contrast_factor=0.5,
        saturation_factor=0.5,
        hue_factor=0.1,
    )
    apply = RandomApply(jitter, rate=0.5, seed=1)
    ds = tf.data.Dataset.from_tensor_slices(images).batch(16)
    out = np.asarray(next(iter(ds.map(apply))))
    unchanged = np.all(out == images, axis=(1, 2, 3))
    assert 0 < unchanged.sum() < 16
    rebuilt = assert_config_round_trip(apply)
    assert type(rebuilt.layer) is type(jitter)

    crop = keras_cv.layers.RandomCropAndResize(
        (16, 16), crop_area_factor=(0.2, 1.0), aspect_ratio_factor=(0.75, 1.33)
    )
    choice = RandomChoice([crop, RandomResizedCrop(16, 16)], seed=2)
    out = next(iter(ds.map(choice)))
    assert out.shape == (16, 16, 16, 3)
    # An empty share for one branch must work too.
    one = RandomChoice([crop, RandomResizedCrop(16, 16)], weights=[0, 1])
    assert one(images).shape == (16, 16, 16, 3)
