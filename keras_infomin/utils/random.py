"""Seeding helpers for random layers: per-call seeds that differ per replica.

Keras 3 random ops are stateless: a `keras.random.SeedGenerator` holds a
`[seed, counter]` state variable and hands out a new seed on each call. Under
`tf.distribute.MirroredStrategy` every replica holds a copy of that state with
the same initial value, so a random layer run inside `strategy.run` draws the
*same* numbers on every replica (checked with Keras 3.15: two replicas flip
the same images with `keras.layers.RandomFlip`). `draw_seed` folds the
replica id into each seed (`keras_infomin.distribute.replica_seed`) so that
each replica draws its own views; `distribute.decorrelate_replicas` does the
same for Keras' own random layers.

All seeds returned here are int32 tensors of shape `[2]`, the form that the
`tf.random.stateless_*` ops take.
"""

import keras
import tensorflow as tf

from keras_infomin import distribute


def make_seed_generator(seed=None, name=None):
    """Returns a `keras.random.SeedGenerator` for a layer's randomness.

    Args:
        seed: optional Python int. `None` draws an initial seed from Python's
            `random` module, so `keras.utils.set_random_seed` makes it
            reproducible.
        name: optional name of the generator's state variable scope.

    Returns:
        A `keras.random.SeedGenerator`. Create it in the layer's `__init__`
        so that Keras tracks (and saves) its state.

    Example:

    ```python
    self.seed_generator = make_seed_generator(seed)
    ...
    seed = draw_seed(self.seed_generator)
    u = tf.random.stateless_uniform([batch], seed=seed)
    ```
    """
    if seed is not None and (
        not isinstance(seed, int) or isinstance(seed, bool)
    ):
        raise TypeError(
            f"`seed` must be a Python int or None; received seed={seed!r} "
            f"of type {type(seed).__name__}."
        )
    return keras.random.SeedGenerator(seed, name=name)


def draw_seed(seed_generator):
    """Draws the next seed of `seed_generator`, folded with the replica id.

    Args:
        seed_generator: a `keras.random.SeedGenerator`.

    Returns:
        int32 tensor of shape `[2]`: use it with `tf.random.stateless_*`, or
        split it with `split_seed` for several independent draws.
    """
    return distribute.replica_seed(seed_generator.next())


def split_seed(seed, num):
    """Splits a `[2]` seed into `num` independent `[2]` seeds (a list)."""
    seeds = tf.random.experimental.stateless_split(seed, num=num)
    return [tf.cast(seeds[i], tf.int32) for i in range(num)]
