"""Views: independent views of one batch, one or one-per-view transforms."""

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.testing import run_layer_test
from keras_infomin.views import Compose
from keras_infomin.views import RandomHorizontalFlip
from keras_infomin.views import RandomResizedCrop
from keras_infomin.views import Views
from tests.views.helpers import check_graph_modes
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
    check_graph_modes(views, images)


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
