"""RandomApply: observed rate within binomial tolerance, untouched samples
unchanged, serialization, bad rates."""

import numpy as np
import pytest

from keras_infomin.testing import run_layer_test
from keras_infomin.views import GaussianBlur
from keras_infomin.views import RandomApply
from keras_infomin.views import RandomGrayscale
from tests.views.helpers import binomial_tolerance
from tests.views.helpers import check_graph_modes
from tests.views.helpers import check_seeded_rebuild
from tests.views.helpers import random_images


def _is_gray(images):
    return np.all(np.abs(images - images[..., :1]) < 1e-6, axis=(1, 2, 3))


def test_observed_rate():
    n = 4000
    images = random_images((n, 2, 2, 3))
    for rate in (0.0, 0.2, 0.5, 0.8, 1.0):
        layer = RandomApply(RandomGrayscale(1.0), rate=rate)
        out = np.asarray(layer(images))
        gray = _is_gray(out)
        assert abs(gray.mean() - rate) <= binomial_tolerance(n, rate), rate
        # Samples left alone are exactly the inputs.
        np.testing.assert_array_equal(out[~gray], images[~gray])


def test_selected_samples_get_the_layer_output():
    images = random_images((64, 3, 3, 3))
    out = np.asarray(RandomApply(RandomGrayscale(1.0), rate=0.5)(images))
    gray = _is_gray(out)
    luma = images @ np.array([0.299, 0.587, 0.114], "float32")
    np.testing.assert_allclose(out[gray][..., 0], luma[gray], atol=1e-6)


def test_plain_callables_and_inference():
    images = random_images((16, 4, 4, 3))
    layer = RandomApply(lambda x: 1.0 - x, rate=1.0)
    np.testing.assert_allclose(layer(images), 1.0 - images, atol=1e-7)
    half = RandomApply(lambda x: 1.0 - x, rate=0.5)
    assert np.array_equal(half(images, training=False), images)


def test_layer_contract():
    images = random_images((8, 16, 16, 3))
    layer = RandomApply(GaussianBlur(seed=2), rate=0.5, seed=3)
    run_layer_test(layer, (images,), call_kwargs={"training": False})
    check_graph_modes(layer, images)
    check_seeded_rebuild(layer, images)


def test_bad_inputs():
    for rate in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="rate"):
            RandomApply(RandomGrayscale(1.0), rate=rate)
    with pytest.raises(TypeError, match="layer"):
        RandomApply("blur", rate=0.5)
    with pytest.raises(ValueError, match="channels"):
        RandomApply(RandomGrayscale(1.0), 0.5)(np.zeros((4, 4), "float32"))
