"""The TUBA family: TUBA, NWJ and the interpolated alpha bound."""

import math

from keras import ops

from keras_infomin.bounds.common import mean_exp_offdiagonal
from keras_infomin.bounds.common import mean_positive
from keras_infomin.bounds.common import validate_scores
from keras_infomin.utils.validation import check_in_range


def _column_baseline(scores, log_baseline):
    """Broadcasts a scalar or per-column `[M]` log-baseline over `scores`."""
    log_baseline = ops.cast(ops.convert_to_tensor(log_baseline), scores.dtype)
    rank = len(log_baseline.shape)
    if rank == 0:
        return log_baseline
    m = scores.shape[1]
    if rank != 1 or (
        m is not None
        and log_baseline.shape[0] is not None
        and log_baseline.shape[0] != m
    ):
        raise ValueError(
            "`log_baseline` must be a scalar or a vector with one entry per "
            f"column of `scores` ([M] = [{m}], log a(y_j)); received shape "
            f"{tuple(log_baseline.shape)}."
        )
    return ops.expand_dims(log_baseline, 0)


def tuba(scores, log_baseline=None, positive_mask=None):
    r"""Tractable unnormalised Barber-Agakov (TUBA) lower bound, in nats.

        I_TUBA = 1 + E_p[f(x, y) - log a(y)] - E_q[exp(f(x, y) - log a(y))]

    with `E_p` the mean over the positive pairs and `E_q` over the negative
    pairs of the score matrix. `a(y) > 0` is a baseline given as its log,
    `log_baseline` (scalar or one value per column `y_j`; default 0, i.e.
    `a = 1`). The bound is tight for `f = log p(y|x) / p(y) + log a(y)`, and
    its optimal baseline is `a(y) = E_p(x)[exp f(x, y)]`.

    Cap: none (not bounded by log N). Bias/variance: unbiased for a fixed
    critic, but its variance grows roughly like e^I / N.

    The value is exact whenever representable, and when `E_q[exp(.)]`
    overflows (a negative-pair score above ~88 in float32) the bound is -inf
    with the exact gradient `-exp(f_ij - log a_j) / |neg|`, -inf only in the
    overflowing entries and never NaN.

    Reference: Poole et al. 2019, "On Variational Bounds of Mutual
    Information", Eq. (9).

    Args:
        scores: `[N, M]` score matrix (see `keras_infomin.bounds`).
        log_baseline: optional scalar or `[M]` tensor, `log a(y_j)`.
        positive_mask: optional boolean `[N, M]` mask of the positives.

    Returns:
        Scalar tensor, the bound in nats.
    """
    scores, positive_mask = validate_scores(scores, positive_mask)
    if log_baseline is not None:
        scores = scores - _column_baseline(scores, log_baseline)
    joint = mean_positive(scores, positive_mask)
    marginal = mean_exp_offdiagonal(scores, positive_mask)
    return 1.0 + joint - marginal


def nwj(scores, positive_mask=None):
    r"""Nguyen-Wainwright-Jordan (NWJ, f-GAN KL, MINE-f) lower bound, nats.

        I_NWJ = E_p[f(x, y)] - e^{-1} E_q[exp f(x, y)]

    It is `tuba` with the constant baseline `a = e`, so the optimal critic is
    `f = 1 + log p(y|x) / p(y)`, at which the bound equals the true MI.

    Cap: none. Bias/variance: unbiased for a fixed critic; variance grows
    roughly like e^I / N, so estimates become erratic at high MI.

    Large scores behave as in `tuba`: a negative-pair score above ~89
    (float32) gives -inf, with -inf gradients in those entries only.

    Reference: Nguyen, Wainwright and Jordan 2010; Nowozin et al. 2016;
    Poole et al. 2019, Eq. (10).

    Args:
        scores: `[N, M]` score matrix (see `keras_infomin.bounds`).
        positive_mask: optional boolean `[N, M]` mask of the positives.

    Returns:
        Scalar tensor, the bound in nats.
    """
    scores, positive_mask = validate_scores(scores, positive_mask)
    return tuba(scores - 1.0, positive_mask=positive_mask)


def _log1mexp(a):
    """log(1 - exp(a)) for a < 0, stable, with finite gradients at a < 0."""
    near_zero = a > -math.log(2.0)
    safe_near = ops.where(near_zero, a, -1.0)
    safe_far = ops.where(near_zero, -1.0, a)
    return ops.where(
        near_zero,
        ops.log(-ops.expm1(safe_near)),
        ops.log1p(-ops.exp(safe_far)),
    )


def _leave_one_out_log_mean_exp(scores):
    """`out[e, j] = log mean_{k != e} exp(scores[k, j])`, without cancellation.

    For every entry but its column's largest, the share of the column's mass
    is at most 1/2 and `lse + log(1 - share)` is exact; the largest entry's
    leave-one-out value is a log-sum-exp over the rest of its column.
    """
    n = ops.shape(scores)[0]
    col_lse = ops.logsumexp(scores, axis=0, keepdims=True)
    top = ops.equal(
        ops.expand_dims(ops.arange(n), 1),
        ops.expand_dims(ops.argmax(scores, axis=0), 0),
    )
    neg_inf = ops.full_like(scores, -math.inf)
    without_top = ops.logsumexp(
        ops.where(top, neg_inf, scores), axis=0, keepdims=True
    )
    share = ops.where(top, -1.0, scores - col_lse)
    loo = ops.where(top, without_top, col_lse + _log1mexp(share))
    return loo - ops.log(ops.cast(n, scores.dtype) - 1.0)


def interpolated(scores, alpha=0.01, log_baseline=None):
    r"""Poole et al.'s interpolated bound I_alpha, between InfoNCE and TUBA.

    A TUBA bound whose baseline for `y_j` mixes the leave-one-out InfoNCE
    baseline with a learned (or constant) baseline `q(y)`:

        a(y_j; x_S) = alpha * 1/K sum_{k in S} exp f(x_k, y_j)
                      + (1 - alpha) * q(y_j)

    with `S` a set of `K = N - 1` rows. For the joint term (`y_j` with its
    partner `x_j`), `S` is all rows but one other row `e != j`, averaged over
    `e`; for the marginal term (`y_j` with `x_i`, `i != j`), `S` is every row
    but the partner `j`, so it is independent of `y_j`:

        I_alpha = 1 + mean_{j, e != j}[f(x_j, y_j) - log a(y_j; S_{-e})]
                    - mean_{i != j}[exp(f(x_i, y_j) - log a(y_j; S_{-j}))]

    `alpha = 1` gives a leave-one-out InfoNCE-style bound, `alpha = 0` the
    TUBA bound with baseline `q`.

    Cap: `I_alpha <= 1 + log(K / alpha)`, `K = N - 1`: every joint term is
    at most `log(K / alpha)` (the baseline holds `alpha / K * exp f(x_j,
    y_j)`) and the marginal term is non-negative. The commonly quoted
    `log(K / alpha)` is what a perfect critic reads when its negatives
    score like `log q`; negatives far below `log q` add up to 1 more.
    Bias/variance: alpha trades InfoNCE's low variance (and its log N cap)
    against TUBA's low bias; `alpha = 0.01` is the usual choice.

    Reference: Poole et al. 2019, "On Variational Bounds of Mutual
    Information", Section 2.4, Eq. (11).

    Args:
        scores: square `[N, N]` score matrix, positives on the diagonal.
        alpha: weight of the InfoNCE baseline, in (0, 1] (0 is the `tuba`
            bound, use that function).
        log_baseline: optional scalar or `[N]` tensor, `log q(y_j)` (default
            0, `q = 1`).

    Returns:
        Scalar tensor, the bound in nats.
    """
    check_in_range("alpha", alpha, 0.0, 1.0, low_open=True)
    scores, _ = validate_scores(scores)
    n, m = scores.shape
    if n is not None and m is not None and n != m:
        raise ValueError(
            "`interpolated` needs a square score matrix [N, N] with the "
            f"positives on the diagonal; received shape {(n, m)}."
        )
    if n is not None and n < 3:
        raise ValueError(
            "`interpolated` needs N >= 3 rows (leave-one-out baselines over "
            f"N - 1 >= 2 rows); received N={n}."
        )
    size = ops.cast(ops.shape(scores)[0], scores.dtype)
    loo = _leave_one_out_log_mean_exp(scores)
    log_q = (
        ops.zeros((), scores.dtype)
        if log_baseline is None
        else _column_baseline(scores, log_baseline)
    )
    if alpha == 1.0:
        log_a = loo
    else:
        log_a = ops.logaddexp(
            math.log(alpha) + loo, math.log(1.0 - alpha) + log_q
        )
    # log_a[e, j]: baseline for y_j with row e left out.
    diag = ops.diagonal(scores)
    eye = ops.eye(ops.shape(scores)[0], dtype="bool")
    off_diag = ops.logical_not(eye)
    pairs = size * (size - 1.0)

    joint_terms = ops.expand_dims(diag, 0) - log_a
    joint = ops.sum(ops.where(off_diag, joint_terms, 0.0)) / pairs

    log_a_partner = ops.diagonal(log_a)  # leave out y_j's partner x_j.
    shifted = scores - ops.expand_dims(log_a_partner, 0)
    neg_inf = ops.full_like(scores, -math.inf)
    marginal_lme = ops.logsumexp(
        ops.reshape(ops.where(eye, neg_inf, shifted), (-1,))
    ) - ops.log(pairs)
    return 1.0 + joint - ops.exp(marginal_lme)
