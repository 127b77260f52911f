"""GaussianBlur against scipy.ndimage; per-sample sigma."""

import numpy as np
import pytest
from scipy import ndimage

from keras_infomin.testing import run_layer_test
from keras_infomin.views import GaussianBlur
from tests.views.helpers import check_graph_modes
from tests.views.helpers import check_seeded_rebuild
from tests.views.helpers import random_images


def test_matches_scipy_gaussian_filter():
    images = random_images((2, 30, 26, 3))
    for sigma, kernel in ((0.7, 5), (1.5, 9), (2.0, 23)):
        out = GaussianBlur((sigma, sigma), kernel_size=kernel)(images)
        radius = kernel // 2
        # scipy's "mirror" mode is TF's REFLECT; truncate sets the radius.
        expected = ndimage.gaussian_filter(
            images.astype("float64"),
            sigma=(0, sigma, sigma, 0),
            mode="mirror",
            truncate=radius / sigma,
        )
        np.testing.assert_allclose(out, expected, atol=1e-5)


def test_sigma_is_drawn_per_sample():
    images = np.repeat(random_images((1, 16, 16, 3)), 64, axis=0)
    out = np.asarray(GaussianBlur((0.1, 2.0))(images))
    roughness = np.abs(np.diff(out, axis=1)).mean(axis=(1, 2, 3))
    assert len(np.unique(np.round(roughness, 6))) > 50
    # Weak blurs keep the image, strong ones flatten it.
    original = np.abs(np.diff(images[0], axis=0)).mean()
    assert roughness.max() > 0.9 * original
    assert roughness.min() < 0.5 * original


def test_layer_contract():
    images = random_images((3, 12, 12, 3))
    layer = GaussianBlur(seed=4)
    run_layer_test(layer, (images,), call_kwargs={"training": False})
    check_graph_modes(layer, images)
    check_seeded_rebuild(layer, images)
    # The radius is capped on images smaller than the kernel.
    tiny = random_images((2, 3, 3, 3))
    assert GaussianBlur(kernel_size=23)(tiny).shape == (2, 3, 3, 3)
    assert GaussianBlur()(np.zeros((0, 8, 8, 3), "float32")).shape[0] == 0


def test_bad_inputs():
    with pytest.raises(ValueError, match="sigma"):
        GaussianBlur((0.0, 1.0))
    with pytest.raises(ValueError, match="kernel_size"):
        GaussianBlur(kernel_size=4)
    with pytest.raises(ValueError, match="height, width, channels"):
        GaussianBlur()(np.zeros((4, 4), "float32"))
