"""Shared checks for the view layers' tests."""

import ast
import os

import keras
import numpy as np
import tensorflow as tf

from keras_infomin.testing import assert_config_round_trip


def to_numpy(x):
    if isinstance(x, (tuple, list)):
        return [to_numpy(t) for t in x]
    return np.asarray(keras.ops.convert_to_numpy(x))


def shapes(x):
    if isinstance(x, (tuple, list)):
        return [tuple(t.shape) for t in x]
    return tuple(x.shape)


def check_graph_modes(layer, images, expected_shape=None):
    """Runs `layer` eagerly, in a batched `tf.data` map, in a `tf.function`
    and on one unbatched image; returns the eager output.

    Every output must be finite, have the same shape in every mode, and
    (for images) the unbatched output must drop the batch axis.
    """
    eager = layer(images, training=True)
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(len(images))
    mapped = next(iter(dataset.map(lambda t: layer(t))))
    traced = tf.function(lambda t: layer(t, training=True))(tf.constant(images))
    single = layer(images[0], training=True)
    for out in (eager, mapped, traced):
        assert shapes(out) == shapes(eager)
        for t in out if isinstance(out, (tuple, list)) else [out]:
            assert np.all(np.isfinite(to_numpy(t)))
    if expected_shape is not None:
        assert shapes(eager) == expected_shape
    single_shapes = shapes(single)
    batch_shapes = shapes(eager)
    if isinstance(batch_shapes, list):
        assert single_shapes == [s[1:] for s in batch_shapes]
    else:
        assert single_shapes == batch_shapes[1:]
    return eager


def check_seeded_rebuild(layer, images):
    """A layer rebuilt from its config with the same seed draws the same
    views (the seed travels in the config)."""
    rebuilt = assert_config_round_trip(layer)
    again = layer.__class__.from_config(layer.get_config())
    a = to_numpy(rebuilt(images, training=True))
    b = to_numpy(again(images, training=True))
    if isinstance(a, list):
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, atol=1e-6)
    else:
        np.testing.assert_allclose(a, b, atol=1e-6)


def binomial_tolerance(n, p, sigmas=4.5):
    """Half-width of a `sigmas`-standard-deviation band for a proportion."""
    return sigmas * np.sqrt(p * (1 - p) / n) + 1.0 / n


def random_images(shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


def imported_modules(package):
    """`{file name: [module names]}` that the files of `package` import
    (for `from a import b`, both `a` and `a.b`)."""
    folder = os.path.dirname(os.path.abspath(package.__file__))
    found = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(folder, name)) as f:
            tree = ast.parse(f.read())
        modules = []
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                modules.append(node.module or "")
                modules += [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                modules += [a.name for a in node.names]
        found[name] = modules
    return found
