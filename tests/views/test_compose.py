"""Compose: layers applied in order with the caller's training flag."""

import numpy as np
import pytest

from keras_infomin.testing import run_layer_test
from keras_infomin.views import ColorSpace
from keras_infomin.views import Compose
from keras_infomin.views import RandomGrayscale
from keras_infomin.views import RandomHorizontalFlip
from keras_infomin.views import RandomResizedCrop
from tests.views.helpers import check_graph_modes
from tests.views.helpers import random_images


def test_order_and_training_flag():
    images = random_images((3, 6, 6, 3))
    recipe = Compose([RandomHorizontalFlip(1.0), RandomGrayscale(1.0)])
    out = np.asarray(recipe(images))
    luma = images[:, :, ::-1] @ np.array([0.299, 0.587, 0.114], "float32")
    np.testing.assert_allclose(out, np.repeat(luma[..., None], 3, -1), 1e-6)
    assert np.array_equal(recipe(images, training=False), images)
    # Order matters: grayscale then Lab differs from Lab then grayscale.
    lab_last = Compose([RandomGrayscale(1.0), ColorSpace("lab")])(images)
    np.testing.assert_allclose(np.asarray(lab_last)[..., 1:], 0, atol=1e-3)


def test_layer_contract():
    images = random_images((4, 16, 16, 3))
    recipe = Compose([RandomResizedCrop(8, 8), RandomHorizontalFlip()])
    run_layer_test(recipe, (images,), call_kwargs={"training": False})
    check_graph_modes(recipe, images, expected_shape=(4, 8, 8, 3))
    assert recipe.compute_output_shape((None, 16, 16, 3)) == (None, 8, 8, 3)


def test_bad_inputs():
    with pytest.raises(TypeError, match="layers"):
        Compose(RandomGrayscale())
    with pytest.raises(TypeError):
        Compose([RandomGrayscale(), "flip"])
