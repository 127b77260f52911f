"""Donsker-Varadhan bounds: DV, MINE and SMILE."""

import math

from keras import ops

from keras_infomin.bounds.common import log_mean_exp_offdiagonal
from keras_infomin.bounds.common import mean_positive
from keras_infomin.bounds.common import validate_scores
from keras_infomin.bounds.common import value_with_gradient_of
from keras_infomin.bounds.js import js_fgan
from keras_infomin.utils.validation import check_in_range
from keras_infomin.utils.validation import check_positive


def dv(scores, positive_mask=None):
    r"""Donsker-Varadhan lower bound on I(X; Y), in nats.

        I_DV = E_p[f(x, y)] - log E_q[exp f(x, y)]

    It is at least `nwj` for the same critic and tight at
    `f = log p(y|x) / p(y) + c` for any constant `c`.

    Cap: none. Bias/variance: the minibatch estimate is biased (the log sits
    outside the mean over negatives) and its variance grows with the MI.

    Reference: Donsker and Varadhan 1983; Belghazi et al. 2018 (MINE).

    Args:
        scores: `[N, M]` score matrix (see `keras_infomin.bounds`).
        positive_mask: optional boolean `[N, M]` mask of the positives.

    Returns:
        Scalar tensor, the bound in nats.
    """
    scores, positive_mask = validate_scores(scores, positive_mask)
    return mean_positive(scores, positive_mask) - log_mean_exp_offdiagonal(
        scores, positive_mask
    )


def mine(scores, log_moving_average=None, momentum=0.9, positive_mask=None):
    r"""MINE: the DV value with a moving-average-corrected gradient.

    The gradient of `log E_q[e^f]` is `E_q[e^f grad f] / E_q[e^f]`; its
    minibatch estimate is biased. MINE replaces the denominator with a
    moving average `m_t` of `E_q[e^f]`:

        m_t = momentum * m_{t-1} + (1 - momentum) * mean_neg(exp S)
        value    = E_p[f] - log mean_neg(exp S)                 (the DV bound)
        gradient = grad E_p[f] - grad mean_neg(exp S) / m_t

    The running state is carried by the caller, in log space
    (`log m_t`, no overflow): pass `None` on the first step (the batch value
    starts the average) and feed the returned state back on the next.

    Cap: none. Bias/variance: the value is DV's; the corrected gradient
    reduces the bias of DV training at the cost of carrying state.

    Reference: Belghazi et al. 2018, "Mutual Information Neural Estimation".

    Args:
        scores: `[N, M]` score matrix (see `keras_infomin.bounds`).
        log_moving_average: `log m_{t-1}` as a scalar tensor, or `None`.
        momentum: weight of the past in the average, in [0, 1).
        positive_mask: optional boolean `[N, M]` mask of the positives.

    Returns:
        `(bound, new_log_moving_average)`, two scalar tensors; the bound has
        the DV value and the MINE gradient.
    """
    check_in_range("momentum", momentum, 0.0, 1.0, high_open=True)
    scores, positive_mask = validate_scores(scores, positive_mask)
    log_partition = log_mean_exp_offdiagonal(scores, positive_mask)
    batch_log_partition = ops.stop_gradient(log_partition)
    if log_moving_average is None or momentum == 0.0:
        new_state = batch_log_partition
    else:
        previous = ops.cast(
            ops.convert_to_tensor(log_moving_average), scores.dtype
        )
        new_state = ops.logaddexp(
            math.log(momentum) + previous,
            math.log(1.0 - momentum) + batch_log_partition,
        )
    joint = mean_positive(scores, positive_mask)
    value = joint - log_partition
    surrogate = joint - ops.exp(log_partition - new_state)
    return value_with_gradient_of(value, surrogate), new_state


def smile(scores, tau=5.0, positive_mask=None):
    r"""SMILE: a DV estimate with clipped critic values, trained with JS.

        value = E_p[f] - log E_q[exp clip(f, -tau, tau)]

    The clipping bounds the partition term's variance (each negative's
    contribution is at most e^tau), at the price of a bias when the true
    density ratio exceeds e^tau. The gradient is that of the Jensen-Shannon
    objective `js_fgan`, which trains the critic towards
    `log p(y|x) / p(y)`. `tau=None` gives the unclipped DV value with the JS
    gradient.

    Cap: none (clipping bounds the variance, not the value).
    Bias/variance: tau = 5 trades a little bias for far lower variance than
    NWJ or MINE at high MI.

    Reference: Song and Ermon 2020, "Understanding the Limitations of
    Variational Mutual Information Estimators".

    Args:
        scores: `[N, M]` score matrix (see `keras_infomin.bounds`).
        tau: positive clipping threshold, or `None` for no clipping.
        positive_mask: optional boolean `[N, M]` mask of the positives.

    Returns:
        Scalar tensor: the SMILE estimate in nats, with the JS gradient.
    """
    check_positive("tau", tau, allow_none=True)
    scores, positive_mask = validate_scores(scores, positive_mask)
    clipped = scores if tau is None else ops.clip(scores, -tau, tau)
    value = mean_positive(scores, positive_mask) - log_mean_exp_offdiagonal(
        clipped, positive_mask
    )
    return value_with_gradient_of(value, js_fgan(scores, positive_mask))
