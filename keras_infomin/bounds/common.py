"""Score-matrix conventions shared by every bound, and small helpers.

Every bound in `keras_infomin.bounds` reads a score matrix `scores` of shape
`[N, M]` with `M >= N`: `scores[i, j] = f(x_i, y_j)` for a critic `f`. Row `i`
holds the positive (joint) pair `(x_i, y_i)` on the diagonal; every other
entry, including the extra columns `j >= N`, is a negative pair drawn from the
product of the marginals. A boolean `positive_mask` of the same shape replaces
the diagonal convention when positives sit elsewhere (for example a queue of
negatives placed after the positive column, or several positives per row).

All values are in nats; `to_bits` converts.
"""

import math

from keras import backend
from keras import ops

from keras_infomin.utils.validation import check_float_tensor
from keras_infomin.utils.validation import check_rank

LOG2 = math.log(2.0)


def to_bits(nats):
    """Converts an information value from nats to bits (divides by log 2).

    Args:
        nats: a number or tensor in nats.

    Returns:
        The same quantity in bits.

    Example:

    >>> float(to_bits(math.log(2.0)))
    1.0
    """
    return ops.divide(nats, LOG2)


def validate_scores(scores, positive_mask=None, name="scores"):
    """Checks a score matrix and its optional positive mask.

    Low-precision scores (float16, bfloat16) are promoted to float32: the
    exponentials inside the bounds need the range.

    Args:
        scores: `[N, M]` floating tensor, `M >= N`.
        positive_mask: optional boolean `[N, M]` tensor.
        name: the argument name used in error messages.

    Returns:
        `(scores, positive_mask)` as tensors.

    Raises:
        TypeError: integer scores or a non-boolean mask.
        ValueError: wrong rank, fewer columns than rows, or no room for a
            negative pair.
    """
    scores = check_float_tensor(name, scores)
    check_rank(
        name, scores, 2, "a score matrix [N, M], scores[i, j] = f(x_i, y_j)"
    )
    if backend.standardize_dtype(scores.dtype) in ("float16", "bfloat16"):
        scores = ops.cast(scores, "float32")
    n, m = scores.shape
    if n is not None and m is not None:
        if m < n:
            raise ValueError(
                f"`{name}` must have at least as many columns as rows "
                f"(M >= N: every x_i needs its partner y_i among the "
                f"candidates); received shape {(n, m)}."
            )
        if m < 2:
            raise ValueError(
                f"`{name}` needs at least two columns: a positive and one "
                f"negative per row. A batch of 1 has no negatives; received "
                f"shape {(n, m)}."
            )
    if positive_mask is not None:
        positive_mask = ops.convert_to_tensor(positive_mask)
        if backend.standardize_dtype(positive_mask.dtype) != "bool":
            raise TypeError(
                "`positive_mask` must be a boolean tensor (True where "
                f"(x_i, y_j) is a joint sample); received dtype "
                f"{positive_mask.dtype}."
            )
        if tuple(positive_mask.shape) != tuple(scores.shape):
            raise ValueError(
                "`positive_mask` must have the shape of `scores`; received "
                f"{tuple(positive_mask.shape)} and {tuple(scores.shape)}."
            )
    return scores, positive_mask


def diagonal_mask(scores):
    """Boolean `[N, M]` mask, True at `(i, i)`: the default positives."""
    shape = ops.shape(scores)
    rows = ops.arange(shape[0])
    cols = ops.arange(shape[1])
    return ops.equal(ops.expand_dims(rows, 1), ops.expand_dims(cols, 0))


def mean_positive(scores, positive_mask=None):
    """Mean critic value over the positive pairs, `E_p[f]`."""
    if positive_mask is None:
        return ops.mean(ops.diagonal(scores))
    mask = ops.cast(positive_mask, scores.dtype)
    total = ops.sum(ops.where(positive_mask, scores, ops.zeros_like(scores)))
    return total / ops.sum(mask)


def _count_negatives(scores, positive_mask):
    shape = ops.shape(scores)
    total = ops.cast(shape[0] * shape[1], scores.dtype)
    if positive_mask is None:
        return total - ops.cast(shape[0], scores.dtype)
    return total - ops.sum(ops.cast(positive_mask, scores.dtype))


def log_mean_exp_offdiagonal(scores, positive_mask=None):
    """Log of the mean of `exp(scores)` over the negative (off-diagonal) pairs.

        log (1 / |neg|) sum_{(i, j) negative} exp(scores[i, j])

    computed as a masked log-sum-exp (the positives are set to -inf, not
    multiplied by 0, which would add spurious e^0 terms), so scores up to the
    float range do not overflow. This is the partition term `log E_q[e^f]` of
    the DV, NWJ and TUBA bounds.

    Args:
        scores: `[N, M]` score matrix.
        positive_mask: optional boolean mask of the positives (default: the
            diagonal).

    Returns:
        Scalar tensor.
    """
    if positive_mask is None:
        positive_mask = diagonal_mask(scores)
    neg_inf = ops.full_like(scores, -math.inf)
    negatives = ops.where(positive_mask, neg_inf, scores)
    lse = ops.logsumexp(ops.reshape(negatives, (-1,)))
    return lse - ops.log(_count_negatives(scores, positive_mask))


# Largest shift taken out of the exponentials in `mean_exp_offdiagonal`:
# e^60 is finite in float32 (and every wider float).
_MAX_SHIFT = 60.0


def mean_exp_offdiagonal(scores, positive_mask=None):
    """Mean of `exp(scores)` over the negative pairs, `E_q[e^f]`, safely.

        E_q[e^f] = e^c * (1 / |neg|) sum_{(i, j) negative} e^(scores[i, j] - c)

    with the constant `c = min(max negative score, 60)` (no gradient): one
    pass over the scores, as in a log-sum-exp. The value is
    that of `exp(log_mean_exp_offdiagonal(...))`, exact whenever it is
    representable, and the gradient is the exact `e^(scores[i, j]) / |neg|`
    entry by entry: when the mean overflows (a negative score above ~88 in
    float32) the value is +inf and only the overflowing entries get an
    infinite gradient, the others stay finite (never `inf * 0 = NaN`, which
    is what differentiating `exp(log_mean_exp)` gives).

    Args:
        scores: `[N, M]` score matrix.
        positive_mask: optional boolean mask of the positives (default: the
            diagonal).

    Returns:
        Scalar tensor.
    """
    if positive_mask is None:
        positive_mask = diagonal_mask(scores)
    negatives = ops.where(
        positive_mask, ops.full_like(scores, -math.inf), scores
    )
    shift = ops.stop_gradient(ops.minimum(ops.max(negatives), _MAX_SHIFT))
    total = ops.sum(ops.exp(negatives - shift))
    return ops.exp(shift) * (total / _count_negatives(scores, positive_mask))


def mean_negative(values, positive_mask=None):
    """Mean of `values` over the negative pairs."""
    if positive_mask is None:
        positive_mask = diagonal_mask(values)
    kept = ops.where(positive_mask, ops.zeros_like(values), values)
    return ops.sum(kept) / _count_negatives(values, positive_mask)


def value_with_gradient_of(value, surrogate):
    """Returns `value` in the forward pass and `grad(surrogate)` backwards.

    The estimators that report one quantity but train on another (JS, SMILE,
    MINE) use it: `stop_gradient(value - surrogate) + surrogate`.
    """
    return ops.stop_gradient(value - surrogate) + surrogate
