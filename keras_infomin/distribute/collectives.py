"""Cross-replica gathering with gradients, and this replica's rows in it.

Contrastive losses need negatives from the whole global batch, not only from
the rows a replica sees: replica `r` scores its rows `z_r` against
`all_gather(z)`, its positives at columns `local_batch_indices(z_r)`.

Gradients. Write `L = sum_r L_r` for the sum of the replicas' losses and
`z_r` for the rows produced on replica `r`. `L` depends on `z_r` through
replica `r`'s own use of its local rows and, through the gathered tensor,
through every replica's loss. `all_gather` differentiates as: take the
upstream gradient of the gathered tensor on every replica, sum it over
replicas (an all-reduce), and keep the slice of rows that replica `r`
contributed, i.e. `sum_s dL_s / d z_all[rows of r]`. Adding the local path,
replica `r` obtains `dL / d z_r` exactly, the optimizer's all-reduce of the
weight gradients then yields `dL / d theta`, and with each `L_r` divided by
the replica count (`scale_loss`) this equals the single-replica gradient of
the loss averaged over the global batch. This is what
`tf.distribute.ReplicaContext.all_gather` implements in TF 2.21 (checked by
`tests/distribute/test_collectives.py` against a single-replica run), so
`all_gather` builds on it rather than on a custom gradient of its own.
"""

import tensorflow as tf

from keras_infomin.distribute.replica import in_multi_replica_context


def _normalise_axis(x, axis):
    if isinstance(axis, bool) or not isinstance(axis, int):
        raise TypeError(
            f"`axis` must be a Python int; received axis={axis!r} of type "
            f"{type(axis).__name__}."
        )
    rank = x.shape.rank
    if rank is None:
        raise ValueError(
            "`all_gather` needs tensors of known rank; received a tensor of "
            "unknown rank. Give the tensor a static rank (e.g. with "
            "tf.ensure_shape) first."
        )
    if rank == 0:
        raise ValueError(
            "`all_gather` cannot gather scalars (rank 0); received shape (). "
            "Expand the value first, e.g. tf.reshape(x, [1])."
        )
    if not -rank <= axis < rank:
        raise ValueError(
            f"`axis` must lie in [{-rank}, {rank}) for a tensor of rank "
            f"{rank}; received axis={axis}."
        )
    return axis % rank


def all_gather(x, axis=0):
    """Concatenates `x` from every replica along `axis`, with gradients.

    Inside a replica context with `R > 1` replicas (for example in a
    `train_step` run by `model.fit` under `MirroredStrategy`), replica `r`
    holding `x_r` receives `concat([x_0, ..., x_{R-1}], axis)` in replica
    order. The local sizes along `axis` may differ between replicas (a short
    last batch), except under `TPUStrategy`, which needs equal shapes. In
    the default context, in cross-replica context or with a single replica,
    `x` is returned unchanged.

    The gradient with respect to `x_r` is the sum over replicas of the
    upstream gradients of the gathered tensor, restricted to the rows of
    replica `r` (see the module docstring). Combined with `scale_loss` and
    the optimizer's cross-replica sum of gradients, training on `R`
    replicas takes the same step as one replica on the global batch.

    Args:
        x: a tensor of static rank >= 1, or a nested structure of such
            tensors (gathered together in one collective).
        axis: the Python `int` axis to concatenate along (default 0, the
            batch axis). Negative values count from the end.

    Returns:
        The gathered tensor (or structure), with the size of `axis` equal to
        the sum of the replicas' sizes.

    Example:

    ```python
    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            zx, zy = self.f(x, training=True), self.g(y, training=True)
            zy_all = all_gather(zy)                       # [N, d]
            logits = tf.matmul(zx, zy_all, transpose_b=True)
            labels = local_batch_indices(zx)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
            )
            scaled = scale_loss(loss)
        ...
    ```
    """
    flat = tf.nest.flatten(x)
    flat = [tf.convert_to_tensor(t) for t in flat]
    axes = {_normalise_axis(t, axis) for t in flat}
    if not in_multi_replica_context():
        return x
    if len(axes) != 1:
        raise ValueError(
            "When gathering a nested structure with a negative `axis`, all "
            f"tensors must have the same rank; received ranks "
            f"{[t.shape.rank for t in flat]} with axis={axis}."
        )
    ctx = tf.distribute.get_replica_context()
    gathered = ctx.all_gather(flat, axis=axes.pop())
    return tf.nest.pack_sequence_as(x, gathered)


def local_batch_offset(x, axis=0):
    """Row offset of this replica's slice in `all_gather(x, axis)`.

    Replica `r` owns rows `[offset_r, offset_r + n_r)` of the gathered
    tensor, where `offset_r = n_0 + ... + n_{r-1}`. The local sizes are
    exchanged with one small all-gather, so unequal per-replica batches (a
    short last batch under `MirroredStrategy`) are handled correctly. The
    sum uses a mask rather than a dynamic slice so that it compiles under
    XLA / `TPUStrategy`. Outside a multi-replica context the offset is 0.

    Args:
        x: the local tensor (static rank >= 1) that is being gathered.
        axis: the gathered axis (default 0).

    Returns:
        A scalar `int32` tensor.

    Example:

    ```python
    offset = local_batch_offset(z)   # 0 on replica 0, n_0 on replica 1, ...
    ```
    """
    x = tf.convert_to_tensor(x)
    axis = _normalise_axis(x, axis)
    if not in_multi_replica_context():
        return tf.constant(0, tf.int32)
    ctx = tf.distribute.get_replica_context()
    local_size = tf.reshape(tf.shape(x, out_type=tf.int32)[axis], [1])
    sizes = ctx.all_gather(local_size, axis=0)  # [R]
    rid = tf.cast(ctx.replica_id_in_sync_group, tf.int32)
    before = tf.range(ctx.num_replicas_in_sync, dtype=tf.int32) < rid
    return tf.reduce_sum(tf.where(before, sizes, tf.zeros_like(sizes)))


def local_batch_indices(x, axis=0):
    """Indices of this replica's rows in `all_gather(x, axis)`.

    For a score matrix `scores = z_local @ transpose(all_gather(z))` of
    shape `[n_r, N]`, the positive pair of local row `i` sits in column
    `local_batch_indices(z)[i] = offset_r + i`: these are the labels of a
    sparse cross-entropy over the global batch. With one replica they are
    `range(n)`, the diagonal.

    Args:
        x: the local tensor (static rank >= 1) that is being gathered.
        axis: the gathered axis (default 0).

    Returns:
        An `int32` tensor of shape `[n_r]`.

    Example:

    ```python
    labels = local_batch_indices(z)
    loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, scores)
    ```
    """
    x = tf.convert_to_tensor(x)
    axis = _normalise_axis(x, axis)
    n = tf.shape(x, out_type=tf.int32)[axis]
    return local_batch_offset(x, axis) + tf.range(n, dtype=tf.int32)


def global_batch_size(x):
    """Rows of `x` summed over replicas, an int32 scalar (one all-gather)."""
    x = tf.convert_to_tensor(x)
    local = tf.shape(x, out_type=tf.int32)[0]
    if not in_multi_replica_context():
        return local
    return tf.reduce_sum(all_gather(tf.reshape(local, [1])))


def cross_replica_mean(value, rows):
    """The global batch's mean from this replica's mean over `rows` rows.

    Replica `r` holds `value_r`, a mean over its `n_r` rows (a bound
    averaged over its anchors). Every replica receives

        sum_r n_r value_r / sum_r n_r

    the value one replica would compute on the whole batch, with gradients
    reaching every replica's `value_r` through `all_gather`. A loss built
    on it is the same on every replica, so dividing it by the replica count
    (`scale_loss`) gives the one-replica step even when the replicas hold
    different numbers of rows (a short last batch) or a nonlinearity
    follows (`|I - target|`), and the logs read the global value under
    every strategy (`TPUStrategy` reports the first replica's). Rows may be
    0 on some replicas (their `value_r` is then ignored, even if not
    finite); if all are 0 the result is 0. With one replica it is `value`.

    Args:
        value: scalar floating tensor, this replica's mean.
        rows: scalar, the number of rows it averages.

    Returns:
        Scalar tensor, the mean over the global batch.
    """
    if not in_multi_replica_context():
        return value
    value = tf.convert_to_tensor(value)
    rows = tf.stop_gradient(tf.cast(rows, value.dtype))
    weighted = tf.where(rows > 0, value, tf.zeros_like(value)) * rows
    pair = tf.reshape(tf.stack([weighted, rows]), [1, 2])
    total = tf.reduce_sum(all_gather(pair), axis=0)
    return tf.math.divide_no_nan(total[0], total[1])


def gather_candidates(anchors, candidates):
    """Every replica's candidates, partners first in global row order.

    Each replica holds `anchors` `[n_r, ...]` and `candidates` `[m_r, ...]`
    whose first `n_r` rows are the anchors' partners (the rest extra
    negatives). Returns `[N + E, ...]`: the partners of all replicas in the
    order of `all_gather(anchors)`, then all the extras, so that the
    partner of global row `g` sits in column `g` (the diagonal convention
    of `keras_infomin.bounds`; local row `i` is global row
    `local_batch_offset(anchors) + i`). Gradients reach every replica's
    rows. One gather of `candidates` (never of an empty tensor on every
    replica, which the collective does not survive) and one of the sizes.
    With one replica it is `candidates`.

    Args:
        anchors: the local anchors, static rank >= 1.
        candidates: the local candidates, at least as many rows.

    Returns:
        The gathered candidates.
    """
    if not in_multi_replica_context():
        return candidates
    candidates = tf.convert_to_tensor(candidates)
    n = tf.shape(anchors, out_type=tf.int32)[0]
    m = tf.shape(candidates, out_type=tf.int32)[0]
    sizes = all_gather(tf.reshape(tf.stack([n, m]), [1, 2]))  # [R, 2]
    gathered = all_gather(candidates)
    ends = tf.cumsum(sizes[:, 1])
    rows = tf.range(ends[-1], dtype=tf.int32)
    owner = tf.searchsorted(ends, rows, side="right")
    local = rows - tf.gather(ends - sizes[:, 1], owner)
    extra = tf.cast(local >= tf.gather(sizes[:, 0], owner), tf.int32)
    order = tf.argsort(extra, stable=True)
    return tf.gather(_dense_gradient(gathered), order)


@tf.custom_gradient
def _dense_gradient(x):
    """Identity whose gradient is dense (the collectives take no slices)."""
    return tf.identity(x), tf.convert_to_tensor
