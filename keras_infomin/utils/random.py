"""Seeding helpers for random layers: per-call seeds that differ per replica.

Keras 3 random ops are stateless: a `keras.random.SeedGenerator` holds a
`[seed, counter]` state variable and hands out a new seed on each call. Under
`tf.distribute.MirroredStrategy` every replica holds a copy of that state with
the same initial value, so a random layer run inside `strategy.run` draws the
*same* numbers on every replica (checked with Keras 3.15: two replicas flip
the same images with `keras.layers.RandomFlip`). The helpers below fold the
replica id into the seed so that each replica draws its own views.

All seeds returned here are int32 tensors of shape `[2]`, the form that the
`tf.random.stateless_*` ops take.
"""

import keras
import tensorflow as tf

_INT32_MAX = 2**31 - 1


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


def replica_id():
    """The replica id as an int32 scalar tensor (0 outside replicas).

    Returns `tf.distribute.get_replica_context().replica_id_in_sync_group`
    when called inside a replica context with more than one replica in sync
    (for example inside `strategy.run` or a distributed `train_step`), else 0.
    """
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync <= 1:
        return tf.constant(0, tf.int32)
    return tf.cast(ctx.replica_id_in_sync_group, tf.int32)


def as_int32_seed(seed):
    """Converts a `[2]` seed of any integer dtype into an int32 `[2]` seed."""
    seed = tf.convert_to_tensor(seed)
    if seed.dtype != tf.int32:
        seed = tf.cast(
            tf.math.floormod(tf.cast(seed, tf.int64), _INT32_MAX), tf.int32
        )
    return seed


def fold_in_replica(seed):
    """Mixes the replica id into a `[2]` seed.

    Outside a multi-replica context the seed is returned unchanged (as
    int32), so single-device results do not depend on whether a strategy
    exists. Inside one, replica `r > 0` gets
    `tf.random.experimental.stateless_fold_in(seed, r)`, a seed whose
    streams are independent of the original's.

    Args:
        seed: integer tensor of shape `[2]`.

    Returns:
        int32 tensor of shape `[2]`.
    """
    seed = as_int32_seed(seed)
    ctx = tf.distribute.get_replica_context()
    if ctx is None or ctx.num_replicas_in_sync <= 1:
        return seed
    rid = tf.cast(ctx.replica_id_in_sync_group, tf.int32)
    folded = tf.random.experimental.stateless_fold_in(seed, rid)
    return tf.where(tf.equal(rid, 0), seed, tf.cast(folded, tf.int32))


def draw_seed(seed_generator):
    """Draws the next seed of `seed_generator`, folded with the replica id.

    Args:
        seed_generator: a `keras.random.SeedGenerator`.

    Returns:
        int32 tensor of shape `[2]`: use it with `tf.random.stateless_*`, or
        split it with `split_seed` for several independent draws.
    """
    return fold_in_replica(seed_generator.next())


def split_seed(seed, num):
    """Splits a `[2]` seed into `num` independent `[2]` seeds (a list)."""
    seeds = tf.random.experimental.stateless_split(seed, num=num)
    return [tf.cast(seeds[i], tf.int32) for i in range(num)]


def decorrelate_replicas(layer, strategy):
    """Gives every replica's copy of `layer`'s seed generators its own state.

    Keras' own random layers (`RandomFlip`, `Dropout`, ...) do not fold the
    replica id into their seeds. When such a layer is built inside
    `strategy.scope()`, its seed state is a mirrored variable with one copy
    per replica; this function rewrites each replica's copy as
    `stateless_fold_in(state, replica_id)` so that the replicas draw
    different numbers from then on. Layers of this package need no such
    step: they fold the replica id at every draw.

    Args:
        layer: a built `keras.layers.Layer` or `keras.Model` created inside
            `strategy.scope()`.
        strategy: the `tf.distribute.Strategy` it lives in.

    Returns:
        The number of seed generators updated.
    """
    unique, seen = [], set()
    for sub in layer._flatten_layers(include_self=True):
        for generator in getattr(sub, "_seed_generators", []):
            if id(generator) not in seen:
                seen.add(id(generator))
                unique.append(generator)

    def _fold():
        rid = replica_id()
        for g in unique:
            state = g.state.value
            seed = as_int32_seed(state)
            folded = tf.random.experimental.stateless_fold_in(seed, rid)
            new = tf.stack([tf.cast(folded[0], state.dtype), state[1]])
            g.state.assign(tf.where(tf.equal(rid, 0), state, new))
        return tf.constant(0)

    if unique:
        strategy.run(tf.function(_fold))
    return len(unique)
