"""RandomHorizontalFlip and RandomGrayscale: rates and exact outputs."""

import numpy as np
import pytest

from keras_infomin.testing import run_layer_test
from keras_infomin.views import RandomGrayscale
from keras_infomin.views import RandomHorizontalFlip
from tests.views.helpers import binomial_tolerance
from tests.views.helpers import check_graph_modes
from tests.views.helpers import check_seeded_rebuild
from tests.views.helpers import random_images


def test_flip_rate_and_output():
    n = 3000
    images = random_images((n, 2, 3, 1))
    for rate in (0.0, 0.3, 1.0):
        out = np.asarray(RandomHorizontalFlip(rate)(images))
        flipped = np.all(out == images[:, :, ::-1], axis=(1, 2, 3))
        kept = np.all(out == images, axis=(1, 2, 3))
        assert np.all(flipped ^ kept)
        assert abs(flipped.mean() - rate) <= binomial_tolerance(n, rate)


def test_grayscale_rate_and_output():
    n = 3000
    images = random_images((n, 2, 2, 3))
    luma = images @ np.array([0.299, 0.587, 0.114], "float32")
    for rate in (0.0, 0.2, 1.0):
        out = np.asarray(RandomGrayscale(rate)(images))
        gray = np.all(np.abs(out - luma[..., None]) < 1e-6, axis=(1, 2, 3))
        kept = np.all(out == images, axis=(1, 2, 3))
        assert np.all(gray ^ kept)
        assert abs(gray.mean() - rate) <= binomial_tolerance(n, rate)


@pytest.mark.parametrize(
    "layer", [RandomHorizontalFlip(seed=1), RandomGrayscale(0.5, seed=1)]
)
def test_layer_contract(layer):
    images = random_images((4, 8, 8, 3))
    run_layer_test(layer, (images,), call_kwargs={"training": False})
    check_graph_modes(layer, images)
    check_seeded_rebuild(layer, images)


def test_bad_inputs():
    with pytest.raises(ValueError, match="rate"):
        RandomHorizontalFlip(1.2)
    with pytest.raises(ValueError, match="rate"):
        RandomGrayscale(-0.5)
    with pytest.raises(ValueError, match="1 or 3 channels"):
        RandomGrayscale(0.5)(np.zeros((2, 4, 4, 2), "float32"))


def test_grayscale_leaves_single_channel_images_unchanged():
    images = random_images((8, 4, 4, 1))
    out = RandomGrayscale(1.0)(images)
    np.testing.assert_array_equal(out, images)
