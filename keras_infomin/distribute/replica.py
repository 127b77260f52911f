"""Where the current step runs: replica id, replica count, per-replica seeds.

Every function here is graph-friendly: it returns tensors built from the
current `tf.distribute` replica context, so it can be used inside a
`train_step` that runs under `MirroredStrategy`, `MultiWorkerMirroredStrategy`
or `TPUStrategy` without host-side Python in the step.
"""

import tensorflow as tf

_INT32 = 2**31 - 1


def in_multi_replica_context():
    """Whether code runs in a replica context with more than one replica.

    Returns:
        `True` inside `strategy.run` (for example inside a `train_step`
        called by `model.fit`) when the strategy has two or more replicas in
        sync; `False` in the default (single-replica) context and in
        cross-replica context (directly under `strategy.scope()`).

    Example:

    ```python
    if in_multi_replica_context():
        z_all = all_gather(z)
    ```
    """
    ctx = tf.distribute.get_replica_context()
    return ctx is not None and ctx.num_replicas_in_sync > 1


def num_replicas():
    """Number of replicas in sync of the current strategy.

    This is `tf.distribute.get_strategy().num_replicas_in_sync`: 1 under the
    default strategy, the number of devices (over all workers) under a
    mirrored, multi-worker or TPU strategy, in replica and in cross-replica
    context alike. It is a Python `int`, known when the step is traced.

    Returns:
        The replica count `R` (Python `int`).

    Example:

    ```python
    global_batch_size = local_batch_size * num_replicas()
    ```
    """
    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def replica_id():
    """Index of the current replica in its sync group, as an int32 tensor.

    Returns:
        A scalar `int32` tensor in `[0, num_replicas())`: the
        `replica_id_in_sync_group` of the current replica context, and 0
        outside any replica context (cross-replica context). Under
        `TPUStrategy` it is a traced value, so use it in tensor maths, never
        in Python control flow.

    Example:

    ```python
    is_chief_replica = tf.equal(replica_id(), 0)
    ```
    """
    ctx = tf.distribute.get_replica_context()
    if ctx is None:
        return tf.constant(0, tf.int32)
    return tf.cast(ctx.replica_id_in_sync_group, tf.int32)


def replica_seed(seed):
    """Folds the replica id into a stateless-random seed.

    Under a distribution strategy every replica traces the same step, so a
    fixed seed draws the *same* random numbers (the same augmentations, the
    same dropout masks) on every replica. Replica `r > 0` gets
    `stateless_fold_in(seed, r)` instead, a stream independent of the
    original; replica 0 and the default single-replica context keep `seed`
    itself, so one device draws what it would draw without a strategy.

    Args:
        seed: a Python `int`, a scalar integer tensor, or a shape-`[2]`
            integer tensor (the seed format of `tf.random.stateless_*`).

    Returns:
        A shape-`[2]` `int32` tensor, to pass as `seed=` to
        `tf.random.stateless_uniform` and friends.

    Example:

    ```python
    noise = tf.random.stateless_normal(tf.shape(x), seed=replica_seed(7))
    ```
    """
    seed = tf.convert_to_tensor(seed)
    if not seed.dtype.is_integer:
        raise TypeError(
            "`seed` must be an integer or an integer tensor; received dtype "
            f"{seed.dtype.name}."
        )
    if seed.shape.rank == 0:
        seed = tf.stack([seed, tf.zeros_like(seed)])
    elif seed.shape.rank != 1 or seed.shape[0] != 2:
        raise ValueError(
            "`seed` must be a scalar or have shape [2]; received shape "
            f"{seed.shape}."
        )
    if seed.dtype != tf.int32:
        seed = tf.cast(
            tf.math.floormod(tf.cast(seed, tf.int64), _INT32), tf.int32
        )
    if not in_multi_replica_context():
        return seed
    rid = replica_id()
    folded = tf.cast(
        tf.random.experimental.stateless_fold_in(seed, rid), tf.int32
    )
    return tf.where(tf.equal(rid, 0), seed, folded)


def decorrelate_replicas(layer, strategy):
    """Gives every replica's copy of `layer`'s seed generators its own state.

    Keras' own random layers (`RandomFlip`, `Dropout`, ...) do not fold the
    replica id into their seeds: built inside `strategy.scope()`, their
    seed state is a mirrored variable and every replica draws the same
    numbers. This rewrites replica `r`'s copy as `stateless_fold_in(state,
    r)` (replica 0 keeps its own), so that the replicas draw differently
    from then on. The package's view layers need no such step: they fold
    the replica id at every draw (`replica_seed`).

    Args:
        layer: a built `keras.layers.Layer` or `keras.Model` created inside
            `strategy.scope()`.
        strategy: the `tf.distribute.Strategy` it lives in.

    Returns:
        The number of seed generators updated.

    Example:

    ```python
    with strategy.scope():
        model = build_model()  # uses keras.layers.RandomFlip
        model(x[:2])
    decorrelate_replicas(model, strategy)
    ```
    """
    unique, seen = [], set()
    for sub in layer._flatten_layers(include_self=True):
        for generator in getattr(sub, "_seed_generators", []):
            if id(generator) not in seen:
                seen.add(id(generator))
                unique.append(generator)

    def fold():
        for generator in unique:
            state = generator.state.value
            seed = replica_seed(tf.cast(state, tf.int64))
            new = tf.stack([tf.cast(seed[0], state.dtype), state[1]])
            generator.state.assign(new)
        return tf.constant(0)

    if unique:
        strategy.run(tf.function(fold))
    return len(unique)
