"""switch_per_sample and the shared input checks."""

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.views import switch_per_sample
from keras_infomin.views.base import standardize_images


def test_switch_per_sample_matches_a_python_loop():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3)).astype("float32")
    scale = rng.uniform(size=(50,)).astype("float32")
    index = rng.integers(0, 3, size=50).astype("int32")
    branches = [
        None,
        lambda a: a[0] * a[1][:, None],
        lambda a: a[0] + 10.0,
    ]
    out = np.asarray(switch_per_sample(index, (x, scale), branches))
    expected = np.stack(
        [
            x[i] if k == 0 else (x[i] * scale[i] if k == 1 else x[i] + 10)
            for i, k in enumerate(index)
        ]
    )
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_switch_per_sample_with_empty_branches_in_graph():
    calls = []

    def failing_on_empty(a):
        calls.append(1)
        tf.debugging.assert_positive(tf.shape(a)[0])
        return a * 2.0

    fn = tf.function(
        lambda x, i: switch_per_sample(i, x, [None, failing_on_empty])
    )
    x = tf.ones([4, 2])
    np.testing.assert_allclose(fn(x, tf.zeros([4], tf.int32)), np.ones((4, 2)))
    np.testing.assert_allclose(
        fn(x, tf.ones([4], tf.int32)), 2 * np.ones((4, 2))
    )
    shrink = tf.function(
        lambda x, i: switch_per_sample(
            i,
            x,
            [lambda a: a[:, :1], lambda a: a[:, 1:]],
            output_shape=(1,),
        )
    )
    assert shrink(x, tf.zeros([4], tf.int32)).shape == (4, 1)


def test_standardize_images_errors():
    with pytest.raises(ValueError, match="height, width, channels"):
        standardize_images(np.zeros((2, 3), "float32"))
    with pytest.raises(ValueError, match="height, width, channels"):
        standardize_images(np.zeros((1, 2, 3, 4, 5), "float32"))
    with pytest.raises(TypeError, match="floating"):
        standardize_images(np.zeros((2, 2, 3), "int32"))
    x, unbatched = standardize_images(np.zeros((2, 2, 3), "float32"))
    assert unbatched and x.shape == (1, 2, 2, 3)
