"""RandomChoice: branch frequencies follow the weights, each sample goes
through exactly one branch, shape-changing branches work."""

import numpy as np
import pytest

from keras_infomin.testing import run_layer_test
from keras_infomin.views import RandomChoice
from keras_infomin.views import RandomGrayscale
from keras_infomin.views import RandomHorizontalFlip
from keras_infomin.views import RandomResizedCrop
from tests.views.helpers import binomial_tolerance
from tests.views.helpers import check_graph_modes
from tests.views.helpers import check_seeded_rebuild
from tests.views.helpers import random_images


def test_branch_frequencies_follow_weights():
    n = 3000
    images = random_images((n, 2, 3, 3))
    layer = RandomChoice(
        [RandomGrayscale(1.0), RandomHorizontalFlip(1.0)], weights=[1, 3]
    )
    out = np.asarray(layer(images))
    luma = images @ np.array([0.299, 0.587, 0.114], "float32")
    gray = np.all(np.abs(out - luma[..., None]) < 1e-6, axis=(1, 2, 3))
    flipped = np.all(out == images[:, :, ::-1], axis=(1, 2, 3))
    assert np.all(gray ^ flipped)  # exactly one branch per sample
    assert abs(gray.mean() - 0.25) <= binomial_tolerance(n, 0.25)


def test_uniform_by_default_and_shape_changing_branches():
    images = random_images((32, 12, 12, 3))
    layer = RandomChoice(
        [
            RandomResizedCrop(4, 4, scale=(0.9, 1.0)),
            RandomResizedCrop(4, 4, scale=(0.05, 0.1)),
        ]
    )
    out = check_graph_modes(layer, images, expected_shape=(32, 4, 4, 3))
    assert out.shape == (32, 4, 4, 3)
    assert layer.compute_output_shape((None, 12, 12, 3)) == (None, 4, 4, 3)
    # Inference: first layer in inference mode (a centred resize).
    np.testing.assert_allclose(
        layer(images[:2], training=False),
        layers_first_inference(images[:2]),
        atol=1e-6,
    )


def layers_first_inference(images):
    return RandomResizedCrop(4, 4)(images, training=False)


def test_layer_contract():
    images = random_images((6, 8, 8, 3))
    layer = RandomChoice(
        [RandomGrayscale(1.0, seed=1), RandomHorizontalFlip(1.0, seed=2)],
        weights=[2, 1],
        seed=4,
    )
    run_layer_test(layer, (images,), call_kwargs={"training": False})
    check_seeded_rebuild(layer, images)


def test_bad_inputs():
    with pytest.raises(ValueError, match="layers"):
        RandomChoice([])
    with pytest.raises(ValueError, match="weights"):
        RandomChoice([RandomGrayscale(1.0)], weights=[1, 2])
    with pytest.raises(ValueError, match="weights"):
        RandomChoice([RandomGrayscale(1.0)], weights=[-1])
    with pytest.raises(ValueError, match="weights"):
        RandomChoice([RandomGrayscale(), RandomGrayscale()], weights=[0, 0])
    with pytest.raises(TypeError):
        RandomChoice([RandomGrayscale(), 3])
