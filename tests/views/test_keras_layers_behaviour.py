"""Facts about Keras 3's own augmentation layers on batched input.

The view layers of this package exist, or are written as they are,
because of these behaviours (Keras 3.15); if Keras changes them, these
tests say so.
"""

import keras
import numpy as np

from tests.views.helpers import random_images


def identical_batch(n=16, size=12):
    return np.repeat(random_images((1, size, size, 3)), n, axis=0)


def distinct(out):
    return len({np.round(o, 5).tobytes() for o in np.asarray(out)})


def test_random_flip_is_per_sample():
    out = np.asarray(
        keras.layers.RandomFlip("horizontal", seed=1)(identical_batch(32))
    )
    assert distinct(out) == 2  # flipped and unflipped in one batch


def test_random_grayscale_factor_is_a_per_sample_probability():
    images = identical_batch(400, 2)
    out = np.asarray(keras.layers.RandomGrayscale(factor=0.3, seed=1)(images))
    gray = np.all(np.abs(out - out[..., :1]) < 1e-6, axis=(1, 2, 3))
    assert 0.2 < gray.mean() < 0.4


def test_random_gaussian_blur_draws_one_sigma_per_batch():
    # `factor` is a range of blur probabilities: (1, 1) blurs every sample.
    layer = keras.layers.RandomGaussianBlur(
        factor=(1.0, 1.0),
        kernel_size=5,
        sigma=(0.1, 2.0),
        value_range=(0, 1),
        seed=1,
    )
    out = layer(identical_batch(16))
    # Every sample blurred (factor 1.0) with the same sigma.
    assert distinct(out) == 1
    assert not np.allclose(out[0], identical_batch(1)[0])


def test_rand_augment_draws_operations_per_batch():
    layer = keras.layers.RandAugment(value_range=(0, 1), num_ops=2, seed=1)
    transformation = layer.get_random_transformation(identical_batch(8))
    assert tuple(transformation["layer_idxes"].shape) == (2,)


def test_random_color_jitter_brightness_is_additive():
    images = identical_batch(8) * 0.5 + 0.2
    layer = keras.layers.RandomColorJitter(
        value_range=(0, 1), brightness_factor=0.3, seed=2
    )
    out = np.asarray(layer(images))
    delta = out - images
    # One constant shift per sample (not a multiplication).
    assert np.max(np.std(delta.reshape(8, -1), axis=1)) < 1e-5
    assert np.std(delta.reshape(8, -1).mean(axis=1)) > 1e-3


def test_solarization_threshold_is_per_sample():
    layer = keras.layers.Solarization(
        addition_factor=0.0, threshold_factor=(0, 1), value_range=(0, 1), seed=1
    )
    assert distinct(layer(identical_batch(16))) > 8
