"""Where the current step runs: replica id, replica count, per-replica seeds.

Every function here is graph-friendly: it returns tensors built from the
current `tf.distribute` replica context, so it can be used inside a
`train_step` that runs under `MirroredStrategy`, `MultiWorkerMirroredStrategy`
or `TPUStrategy` without host-side Python in the step.
"""

import tensorflow as tf


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
    same dropout masks) on every replica. Folding the replica id in gives
    each replica its own stream, while the default single-replica context
    (`replica_id() == 0`) still gets a deterministic seed of its own.

    Args:
        seed: a Python `int`, a scalar integer tensor, or a shape-`[2]`
            integer tensor (the seed format of `tf.random.stateless_*`).

    Returns:
        A shape-`[2]` `int64` tensor, `stateless_fold_in(seed, replica_id)`,
        to pass as `seed=` to `tf.random.stateless_uniform` and friends.

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
    seed = tf.cast(seed, tf.int64)
    if seed.shape.rank == 0:
        seed = tf.stack([seed, tf.constant(0, tf.int64)])
    elif seed.shape.rank != 1 or seed.shape[0] != 2:
        raise ValueError(
            "`seed` must be a scalar or have shape [2]; received shape "
            f"{seed.shape}."
        )
    return tf.random.experimental.stateless_fold_in(
        seed, tf.cast(replica_id(), tf.int64)
    )
