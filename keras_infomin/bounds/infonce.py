"""The InfoNCE bound (contrastive predictive coding)."""

import math

import keras
from keras import ops

from keras_infomin.bounds.common import validate_scores
from keras_infomin.bounds.fused import tensorflow_scores_bound


def infonce(scores, positive_mask=None):
    r"""InfoNCE lower bound on I(X; Y), in nats.

    With the positives on the diagonal of an `[N, M]` score matrix:

        I_NCE = 1/N sum_i [ S_ii - log sum_{j=1..M} exp(S_ij) ] + log M

    which is `log M` minus the softmax cross-entropy of classifying the true
    partner of each row among its `M` candidates. With a `positive_mask`,
    every positive `(i, j)` is classified against its row's negatives only,
    `S_ij - log(exp(S_ij) + sum_{k negative in row i} exp(S_ik))`, plus
    `log(1 + #negatives in row i)`; with the diagonal mask this is the formula
    above.

    Cap: `I_NCE <= log M` (4.16 nats at M = 64), whatever the critic.
    Bias/variance: low variance, but biased downwards once the true MI nears
    `log M`; more negatives raise the cap.

    The bound is unchanged when a constant is added to a row of `scores`.

    Reference: van den Oord et al. 2018, "Representation Learning with
    Contrastive Predictive Coding"; Poole et al. 2019, "On Variational Bounds
    of Mutual Information", Eq. (12).

    Args:
        scores: `[N, M]` floating tensor, `scores[i, j] = f(x_i, y_j)`,
            `M >= N >= 1`, `M >= 2`.
        positive_mask: optional boolean `[N, M]`; every row needs at least
            one negative.

    Returns:
        Scalar tensor, the bound in nats.

    Example:

    >>> import numpy as np
    >>> scores = 10.0 * np.eye(4, dtype="float32")
    >>> round(float(infonce(scores)), 3)  # near the cap log 4 = 1.386
    1.386
    """
    scores, positive_mask = validate_scores(scores, positive_mask)
    num_candidates = ops.cast(ops.shape(scores)[1], scores.dtype)
    if positive_mask is None and keras.backend.backend() == "tensorflow":
        return tensorflow_scores_bound(scores)
    if positive_mask is None:
        log_partition = ops.logsumexp(scores, axis=1)
        return ops.mean(ops.diagonal(scores) - log_partition) + ops.log(
            num_candidates
        )

    neg_inf = ops.full_like(scores, -math.inf)
    negatives_lse = ops.logsumexp(
        ops.where(positive_mask, neg_inf, scores), axis=1, keepdims=True
    )
    # Row-wise log-probability of each positive against its row's negatives.
    log_prob = scores - ops.logaddexp(scores, negatives_lse)
    num_negatives = ops.sum(
        ops.cast(ops.logical_not(positive_mask), scores.dtype),
        axis=1,
        keepdims=True,
    )
    terms = log_prob + ops.log1p(num_negatives)
    zeros = ops.zeros_like(scores)
    mask = ops.cast(positive_mask, scores.dtype)
    return ops.sum(ops.where(positive_mask, terms, zeros)) / ops.sum(mask)
