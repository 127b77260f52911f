"""Views: independent views of one batch, one or one-per-view transforms."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.testing import run_layer_test
from keras_infomin.views import Compose
from keras_infomin.views import RandomApply
from keras_infomin.views import RandomGrayscale
from keras_infomin.views import RandomHorizontalFlip
from keras_infomin.views import RandomResizedCrop
from keras_infomin.views import Views
from tests.views.helpers import random_images


def test_views_are_independent():
    images = np.repeat(random_images((1, 24, 24, 3)), 8, axis=0)
    views = Views(RandomResizedCrop(8, 8), num_views=3)
    out = [np.asarray(v) for v in views(images)]
    assert len(out) == 3
    for v in out:
        # Different windows for identical images: samples differ.
        assert len({v[i].tobytes() for i in range(8)}) == 8
    assert not np.allclose(out[0], out[1])


def test_views_differ_inside_tf_data_and_tf_function():
    images = random_images((4, 16, 16, 3))
    views = Views(Compose([RandomResizedCrop(8, 8), RandomHorizontalFlip()]))
    ds = tf.data.Dataset.from_tensor_slices(images).batch(4)
    first, second = next(iter(ds.map(views)))
    assert not np.allclose(first, second)
    a, b = tf.function(lambda t: views(t, training=True))(images)
    assert not np.allclose(a, b)
    single = views(images[0])
    assert [tuple(v.shape) for v in single] == [(8, 8, 3), (8, 8, 3)]


def test_one_transform_per_view():
    images = random_images((2, 16, 16, 3))
    views = Views([RandomResizedCrop(8, 8), RandomResizedCrop(4, 4)])
    small, smaller = views(images)
    assert small.shape == (2, 8, 8, 3) and smaller.shape == (2, 4, 4, 3)
    assert views.compute_output_shape((None, 16, 16, 3)) == (
        (None, 8, 8, 3),
        (None, 4, 4, 3),
    )


def test_inference_passes_training_false():
    images = random_images((2, 16, 16, 3))
    first, second = Views(RandomResizedCrop(8, 8))(images, training=False)
    np.testing.assert_allclose(first, second, atol=0)
    np.testing.assert_allclose(
        first, tf.image.resize(images, (8, 8)), atol=1e-5
    )


def test_layer_contract():
    images = random_images((2, 16, 16, 3))
    run_layer_test(
        Views(RandomResizedCrop(8, 8), num_views=2),
        (images,),
        call_kwargs={"training": False},
    )
    run_layer_test(
        Views([RandomResizedCrop(8, 8), RandomResizedCrop(8, 8)]),
        (images,),
        call_kwargs={"training": False},
    )


def test_bad_inputs():
    with pytest.raises(ValueError, match="num_views"):
        Views(RandomResizedCrop(8, 8), num_views=0)
    with pytest.raises(ValueError, match="num_views"):
        Views([RandomResizedCrop(8, 8)], num_views=2)
    with pytest.raises(TypeError, match="transform"):
        Views("crop")


class TwoViewModel(keras.Model):
    """Makes its views inside train_step (graph mode, no XLA)."""

    def __init__(self):
        super().__init__()
        self.views = Views(
            Compose(
                [
                    RandomResizedCrop(8, 8),
                    RandomApply(RandomGrayscale(1.0), 0.5),
                ]
            )
        )
        self.flatten = keras.layers.Flatten()
        self.encoder = keras.layers.Dense(4)

    def call(self, x):
        return self.encoder(self.flatten(x))

    def train_step(self, data):
        first, second = self.views(data, training=True)
        with tf.GradientTape() as tape:
            gap = self(first, training=True) - self(second, training=True)
            loss = tf.reduce_mean(tf.square(gap))
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
        return {"view_gap": loss}


def test_views_inside_train_step():
    model = TwoViewModel()
    model.compile(optimizer=keras.optimizers.SGD(0.01))
    history = model.fit(random_images((8, 16, 16, 3)), batch_size=4, verbose=0)
    loss = history.history["view_gap"][0]
    assert np.isfinite(loss) and loss > 0  # the two views differ
