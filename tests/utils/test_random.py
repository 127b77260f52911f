"""Per-replica randomness under MirroredStrategy (two logical CPUs)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import distribute
from keras_infomin.utils import random as random_utils
from keras_infomin.views import Compose
from keras_infomin.views import RandomApply
from keras_infomin.views import RandomGrayscale
from keras_infomin.views import RandomHorizontalFlip
from keras_infomin.views import RandomResizedCrop
from tests.views.helpers import random_images


@pytest.fixture
def strategy():
    devices = tf.config.list_logical_devices("CPU")
    if len(devices) < 2:
        pytest.skip("needs two logical CPU devices (tests/conftest.py)")
    return distribute.get_strategy([d.name for d in devices[:2]])


def per_replica(strategy, layer, images):
    @tf.function
    def step(x):
        return strategy.run(lambda t: layer(t, training=True), args=(x,))

    out = step(tf.constant(images))
    return [np.asarray(t) for t in strategy.experimental_local_results(out)]


@pytest.mark.parametrize(
    "make",
    [
        lambda: RandomResizedCrop(8, 8, seed=3),
        lambda: Compose(
            [
                RandomResizedCrop(16, 16, seed=3),
                RandomApply(RandomGrayscale(1.0, seed=4), 0.5, seed=5),
            ]
        ),
    ],
)
def test_replicas_draw_different_views_of_the_same_image(strategy, make):
    images = random_images((4, 24, 24, 3))
    with strategy.scope():
        layer = make()
    first, second = per_replica(strategy, layer, images)
    assert first.shape == second.shape
    assert not np.allclose(first, second)
    # Same replica, next step: new draws as well.
    again, _ = per_replica(strategy, layer, images)
    assert not np.allclose(first, again)


def test_keras_layers_repeat_across_replicas_until_decorrelated(strategy):
    images = np.repeat(random_images((1, 6, 6, 3)), 32, axis=0)
    with strategy.scope():
        flip = keras.layers.RandomFlip("horizontal", seed=5)
        flip.build(images.shape)
    first, second = per_replica(strategy, flip, images)
    np.testing.assert_array_equal(first, second)  # Keras: identical draws
    assert distribute.decorrelate_replicas(flip, strategy) == 1
    first, second = per_replica(strategy, flip, images)
    assert not np.array_equal(first, second)


def test_package_flip_differs_across_replicas(strategy):
    images = np.repeat(random_images((1, 6, 6, 3)), 32, axis=0)
    with strategy.scope():
        flip = RandomHorizontalFlip(seed=5)
    first, second = per_replica(strategy, flip, images)
    assert not np.array_equal(first, second)


def test_fold_in_replica_is_identity_outside_replicas():
    seed = tf.constant([7, 11], tf.int64)
    np.testing.assert_array_equal(distribute.replica_seed(seed), [7, 11])
    assert int(distribute.replica_id()) == 0
    generator = random_utils.make_seed_generator(3)
    a = random_utils.draw_seed(generator)
    b = random_utils.draw_seed(generator)
    assert a.dtype == tf.int32 and not np.array_equal(a, b)
    parts = random_utils.split_seed(a, 3)
    assert len({tuple(np.asarray(p)) for p in parts}) == 3


def test_bad_seed():
    with pytest.raises(TypeError, match="seed"):
        random_utils.make_seed_generator("7")
