"""switch_per_sample, the shared input checks, the views' imports."""

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import views as views_package
from keras_infomin.views import RandAugment
from keras_infomin.views import image_ops
from keras_infomin.views import switch_per_sample
from keras_infomin.views.base import standardize_images
from tests.views import sweep
from tests.views.helpers import imported_modules


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


def test_switch_never_calls_a_branch_on_an_empty_part_eagerly():
    sizes = []

    def record(a):
        sizes.append(int(tf.shape(a)[0]))
        return a + 1.0

    x = tf.ones([5, 2])
    out = switch_per_sample(tf.constant([0, 0, 2, 0, 2]), x, [record] * 3)
    np.testing.assert_allclose(out, 2 * np.ones((5, 2)))
    assert sizes == [3, 2]
    # Unknown output shapes are read from one real sample, never from an
    # empty part.
    sizes.clear()
    out = switch_per_sample(
        tf.constant([1, 1, 1]),
        tf.ones([3, 4]),
        [lambda a: record(a)[:, :2], lambda a: record(a)[:, 2:]],
        output_shape=(None,),
    )
    assert out.shape == (3, 2) and sizes == [1, 3]


def test_the_emulated_kernel_reproduces_the_onednn_bug(monkeypatch):
    # The sweep's kernel gives on any CPU the failure that oneDNN gives on
    # AVX-512 CPUs: the sharpness op breaks on an empty batch ...
    sweep.misbehaving_kernels(monkeypatch)
    empty = tf.zeros([0, 16, 16, 3])
    with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible"):
        image_ops.adjust_sharpness(empty, tf.zeros([0]))
    # ... and RandAugment, whose switch never hands it one, does not.
    layer = RandAugment(ops=["sharpness"], rate=0.5, seed=0)
    for batch in (1, 2, 3):
        assert layer(tf.ones([batch, 16, 16, 3])).shape[0] == batch


def test_views_import_nothing_above_them():
    # Layering (STYLE.md): views sit below encoders and models.
    above = ("encoders", "models", "evaluation", "export", "analysis", "cli")
    for name, modules in imported_modules(views_package).items():
        for module in modules:
            for layer in above:
                assert not module.startswith(f"keras_infomin.{layer}"), (
                    name,
                    module,
                )
