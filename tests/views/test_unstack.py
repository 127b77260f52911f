"""UnstackViews: views stacked on one axis come back as a tuple."""

import keras
import numpy as np
import pytest

from keras_infomin.testing import run_layer_test
from keras_infomin.views.unstack import UnstackViews


def test_splits_against_numpy_slicing():
    x = np.random.default_rng(0).random((4, 3, 5, 2)).astype("float32")
    views = UnstackViews()(x)
    assert len(views) == 3
    for k, view in enumerate(views):
        np.testing.assert_array_equal(view, x[:, k])
    last = UnstackViews(axis=-1, num_views=2)(x)
    np.testing.assert_array_equal(last[1], x[..., 1])


def test_layer_contract_and_shapes():
    x = np.random.default_rng(1).random((3, 2, 4)).astype("float32")
    out = run_layer_test(UnstackViews(num_views=2), (x,))
    np.testing.assert_array_equal(np.asarray(out), np.stack([x[:, 0], x[:, 1]]))
    layer = UnstackViews()
    assert layer.compute_output_shape((None, 2, 4)) == ((None, 4), (None, 4))
    symbolic = layer(keras.Input((2, 4)))
    assert [tuple(s.shape) for s in symbolic] == [(None, 4), (None, 4)]


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch axis"):
        UnstackViews(axis=0)
    with pytest.raises(TypeError, match="axis"):
        UnstackViews(axis=1.0)
    with pytest.raises(ValueError, match="num_views"):
        UnstackViews(num_views=0)
    with pytest.raises(ValueError, match="Expected 3 views"):
        UnstackViews(num_views=3)(np.zeros((2, 2, 4), "float32"))
    with pytest.raises(ValueError, match="rank >= 2"):
        UnstackViews()(np.zeros((2,), "float32"))
    with pytest.raises(ValueError, match="non-batch axis"):
        UnstackViews(axis=3)(np.zeros((2, 2, 4), "float32"))
