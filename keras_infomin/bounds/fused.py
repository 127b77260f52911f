"""InfoNCE of the inner-product critic, fused with its score matrix.

`infonce_dot(x, y)` equals `infonce(x @ y.T)` but never keeps more than one
`[N, M]` buffer per direction alive and computes the backward pass with two
matrix products, no autodiff through the softmax. On the TensorFlow backend
this brings a forward+backward step close to the cost of the three
`N x M x d` matrix products it cannot avoid (see
`benchmarks/infonce_gemm_floor.py`); other backends use the plain form.
`bounds.infonce` on a score matrix without a mask shares the same softmax
pass and writes its gradient `(I - P) / N` directly (TensorFlow backend).
"""

import keras
import numpy as np
from keras import ops

from keras_infomin.utils.validation import check_float_tensor
from keras_infomin.utils.validation import check_rank


def _validate_embeddings(x, y, symmetric):
    x = check_float_tensor("x", x)
    y = check_float_tensor("y", y)
    check_rank("x", x, 2, "[N, d] embeddings")
    check_rank("y", y, 2, "[M, d] embeddings")
    n, d = x.shape
    m, dy = y.shape
    if d is not None and dy is not None and d != dy:
        raise ValueError(
            "`x` and `y` must have the same embedding size for an inner "
            f"product critic; received {tuple(x.shape)} and {tuple(y.shape)}."
        )
    if n is not None and m is not None:
        if m < n:
            raise ValueError(
                "`y` must have at least as many rows as `x` (y[:N] are the "
                "partners of x, the rest extra negatives); received "
                f"{n} and {m} rows."
            )
        if symmetric and m != n:
            raise ValueError(
                "`symmetric=True` needs as many rows in `y` as in `x`; "
                f"received {n} and {m}."
            )
        if m < 2:
            raise ValueError(
                "InfoNCE needs at least one negative: received a batch of "
                f"{n} with {m} candidates."
            )
    if x.dtype != y.dtype:
        raise TypeError(
            f"`x` and `y` must share a dtype; received {x.dtype} and {y.dtype}."
        )
    return x, y


def _reference(x, y, symmetric):
    """Plain `keras.ops` form (any backend)."""
    scores = ops.cast(ops.matmul(x, ops.transpose(y)), "float32")
    n = ops.shape(x)[0]
    positives = ops.sum(
        ops.cast(x, "float32") * ops.cast(y[:n], "float32"), axis=1
    )
    row = ops.mean(positives - ops.logsumexp(scores, axis=1))
    if symmetric:
        col = ops.mean(positives - ops.logsumexp(scores, axis=0))
        row = 0.5 * (row + col)
    return row + ops.log(ops.cast(ops.shape(y)[0], "float32"))


def _softmax(scores, symmetric):
    """`(mean log-probability of the positives, P)` of `[N, M]` scores.

    `P` is the row softmax (averaged with the column softmax when
    `symmetric`), the part of `d value / d S` off the diagonal, from one
    softmax kernel per direction: no autodiff through it. The value reads
    the positives' probabilities `P_ii` on the diagonal; where one
    underflows (a positive more than ~87 nats below its row's
    log-partition in float32) the rows' are recomputed from their largest
    entries, `log P_ii = S_ii - max_j S_ij + log max_j P_ij`.
    """
    import tensorflow as tf

    def direction(s):
        p = tf.nn.softmax(s)
        diagonal = tf.linalg.diag_part(p)

        def from_peaks():
            n = tf.shape(diagonal)[0]
            peak = tf.reduce_max(s, 1)[:n]
            top = tf.reduce_max(p, 1)[:n]
            return tf.linalg.diag_part(s) - peak + tf.math.log(top)

        tiny = np.finfo(diagonal.dtype.as_numpy_dtype).tiny
        log_p = tf.cond(
            tf.reduce_any(diagonal < tiny),
            from_peaks,
            lambda: tf.math.log(diagonal),
        )
        return tf.reduce_mean(log_p), p

    row, probs = direction(scores)
    if not symmetric:
        return row, probs
    col, col_probs = direction(tf.transpose(scores))
    return 0.5 * (row + col), 0.5 * (probs + tf.transpose(col_probs))


def _tensorflow_fused(x, y, symmetric):
    import tensorflow as tf

    @tf.custom_gradient
    def bound(x, y):
        n = tf.shape(x)[0]
        m = tf.shape(y)[0]
        scores = tf.cast(tf.matmul(x, y, transpose_b=True), tf.float32)
        value, probs = _softmax(scores, symmetric)
        value = value + tf.math.log(tf.cast(m, tf.float32))

        def grad(upstream):
            # d value / d S = (I - P) / N; the scale goes on the [N, d]
            # sides of the products, never on an [N, M] buffer.
            scale = tf.cast(upstream, tf.float32) / tf.cast(n, tf.float32)
            scale = tf.cast(scale, x.dtype)
            p = tf.cast(probs, x.dtype)
            dx = scale * (y[:n] - tf.matmul(p, y))
            dy = tf.matmul(p, -scale * x, transpose_a=True)
            dy = dy + tf.pad(scale * x, [[0, m - n], [0, 0]])
            return dx, dy

        return value, grad

    return bound(x, y)


def tensorflow_scores_bound(scores):
    """InfoNCE of a float `[N, M]` score matrix, positives on the diagonal.

    The TensorFlow form of `bounds.infonce` without a mask: the same
    softmax as `infonce_dot`, and the gradient `(I - P) / N` written into
    one `[N, M]` buffer.
    """
    import tensorflow as tf

    @tf.custom_gradient
    def bound(scores):
        shape = tf.shape(scores)
        value, probs = _softmax(scores, False)
        value = value + tf.math.log(tf.cast(shape[1], scores.dtype))

        def grad(upstream):
            scale = tf.cast(upstream, scores.dtype) / tf.cast(
                shape[0], scores.dtype
            )
            minus_p = probs * -scale
            return tf.linalg.set_diag(
                minus_p, tf.linalg.diag_part(minus_p) + scale
            )

        return value, grad

    return bound(scores)


def infonce_dot(x, y, symmetric=False):
    r"""InfoNCE bound of the inner-product critic `f(x, y) = x . y`, fused.

        S = x y^T,   I_NCE = 1/N sum_i [S_ii - log sum_j exp S_ij] + log M

    `y[:N]` are the partners of `x`; `y[N:]`, if any, are extra negatives.
    With `symmetric=True` (CLIP-style, needs `M == N`) the row and column
    bounds are averaged: each `y_j` also classifies its partner among all
    `x`. Temperature and cosine normalisation are applied by the caller
    (`x / temperature`, `keras.ops.normalize`), through ordinary autodiff.

    Mixed precision: the products run in the inputs' dtype (e.g. bfloat16),
    the softmax and the value in float32.

    Args:
        x: `[N, d]` floating tensor.
        y: `[M, d]` floating tensor, `M >= N`, `M >= 2`.
        symmetric: average the row-wise and column-wise bounds.

    Returns:
        Scalar float32 tensor, the bound in nats (cap `log M`).

    Example:

    >>> import numpy as np
    >>> z = np.eye(8, dtype="float32") * 20.0
    >>> round(float(infonce_dot(z, z)), 3)  # at the cap log 8
    2.079
    """
    x, y = _validate_embeddings(x, y, symmetric)
    if keras.backend.backend() == "tensorflow":
        return _tensorflow_fused(x, y, symmetric)
    return _reference(x, y, symmetric)
