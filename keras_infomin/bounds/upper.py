"""Variational upper bounds on I(X; Y), for minimising MI: CLUB and L1Out.

Both read a log-likelihood matrix `log_likelihoods` of shape `[N, M]`,
`M >= N`, with `log_likelihoods[i, j] = log q(y_j | x_i)` for a normalised
conditional density `q` (for example `critics.GaussianConditional`): the
joint pairs on the diagonal, the convention of the score matrices. Unlike
a critic's scores, these entries must be log densities: the bounds are
upper bounds only when `q` is a (good) conditional density of `y` given
`x`. `q` is fitted by maximising `conditional_log_likelihood`; the
representation (or view generator) minimises the bound.
"""

import math

from keras import ops

from keras_infomin.bounds.common import mean_negative
from keras_infomin.bounds.common import mean_positive
from keras_infomin.bounds.common import validate_scores

_NAME = "log_likelihoods"


def conditional_log_likelihood(log_likelihoods, positive_mask=None):
    r"""Mean log-likelihood of the joint pairs, `E_p[log q(y | x)]`, nats.

        LL = 1/N sum_i log q(y_i | x_i)

    The training objective of the variational conditional `q` of `club`
    and `l1out` (maximise it over `q` only, holding the representation
    fixed). `-LL` is the conditional's negative log-likelihood loss, and
    `LL + h(Y)` is the Barber-Agakov lower bound.

    Args:
        log_likelihoods: `[N, M]` tensor, `[i, j] = log q(y_j | x_i)`.
        positive_mask: optional boolean `[N, M]` mask of the joint pairs
            (default: the diagonal).

    Returns:
        Scalar tensor.
    """
    log_likelihoods, positive_mask = validate_scores(
        log_likelihoods, positive_mask, name=_NAME
    )
    return mean_positive(log_likelihoods, positive_mask)


def club(log_likelihoods, positive_mask=None):
    r"""Contrastive log-ratio upper bound (CLUB) on I(X; Y), in nats.

        I_CLUB = E_p(x,y)[log q(y | x)] - E_p(x)p(y)[log q(y | x)]
               = mean_{positives} L_ij - mean_{negatives} L_ij

    With the true conditional, `I_CLUB - I = E_p(y)[log p(y) -
    E_p(x) log p(y | x)] >= 0` (Jensen): an upper bound, tight only when
    `y` is independent of `x`. With a fitted `q` it stays an upper bound
    when `KL(p(x, y) || p(x) q(y | x)) <= KL(p(x) p(y) || p(x) q(y | x))`
    (Cheng et al., Section 3), which a `q` trained by maximum likelihood
    tends to satisfy. For correlated Gaussians with the true conditional,
    `I_CLUB = d rho^2 / (1 - rho^2)` against `I = -d/2 log(1 - rho^2)`.

    Cap: none. Bias/variance: an unbiased estimate of the bound (the
    negatives here are the off-diagonal pairs; Cheng et al.'s estimate
    also averages the diagonal into the second term, which multiplies the
    value by `1 - 1/N`). Its variance is that of log-likelihoods, not of
    their exponentials: no `e^I` blow-up.

    The value is linear in the entries, so it is finite for any finite
    log-likelihoods (entries of +-1e4 included).

    Reference: Cheng et al. 2020, "CLUB: A Contrastive Log-ratio Upper
    Bound of Mutual Information", ICML.

    Args:
        log_likelihoods: `[N, M]` tensor, `[i, j] = log q(y_j | x_i)`,
            `M >= N`, `M >= 2`.
        positive_mask: optional boolean `[N, M]` mask of the joint pairs.

    Returns:
        Scalar tensor, the bound in nats.

    Example:

    >>> import numpy as np
    >>> log_q = np.array([[0.0, -2.0], [-2.0, 0.0]], "float32")
    >>> float(club(log_q))
    2.0
    """
    log_likelihoods, positive_mask = validate_scores(
        log_likelihoods, positive_mask, name=_NAME
    )
    return mean_positive(log_likelihoods, positive_mask) - mean_negative(
        log_likelihoods, positive_mask
    )


def l1out(log_likelihoods):
    r"""Leave-one-out upper bound (L1Out) on I(X; Y), in nats.

    The marginal `p(y_i)` is replaced by the mixture of the conditionals
    at the other rows:

        I_L1Out = 1/N sum_i [ log q(y_i | x_i)
                              - log 1/(N - 1) sum_{j != i} q(y_i | x_j) ]

    i.e. each column's diagonal entry against the log-mean-exp of the rest
    of its column. With the true conditional it is an upper bound in
    expectation (Jensen on the log of the mixture) that tends to `I` as N
    grows; InfoNCE on the transposed matrix (the same mixture with the
    diagonal kept) is the matching lower bound, so the two bracket `I`.
    With a fitted `q`, it is an upper bound to the extent that `q` is close
    to the true conditional.

    Cap: none. Bias/variance: biased upwards at small N; the bias shrinks
    like the mixture's error in `p(y_i)`. Like InfoNCE its variance stays
    moderate; when one `q(y_i | x_j)` dominates the mixture the estimate
    is driven by that pair.

    Numerics: the log-mean-exp masks the diagonal with -inf (never 0 * x),
    so entries of +-1e4 give a finite value and finite gradients.

    Reference: Poole et al. 2019, "On Variational Bounds of Mutual
    Information" (the leave-one-out upper bound); Cheng et al. 2020 call
    it L1Out.

    Args:
        log_likelihoods: square `[N, N]` tensor, `[i, j] = log q(y_j | x_i)`,
            `N >= 2`: the mixture over the other rows needs one `x` per `y`,
            so extra columns have no use here.

    Returns:
        Scalar tensor, the bound in nats.

    Example:

    >>> import numpy as np
    >>> log_q = np.array([[0.0, -2.0], [-2.0, 0.0]], "float32")
    >>> float(l1out(log_q))
    2.0
    """
    log_likelihoods, _ = validate_scores(log_likelihoods, name=_NAME)
    n, m = log_likelihoods.shape
    if n is not None and m is not None and n != m:
        raise ValueError(
            "`l1out` needs a square matrix [N, N] (the mixture for y_i "
            "averages q(y_i | x_j) over the other rows j, one x per y); "
            f"received shape {(n, m)}. Drop the extra columns."
        )
    size = ops.shape(log_likelihoods)[0]
    eye = ops.eye(size, dtype="bool")
    off_diagonal = ops.where(
        eye, ops.full_like(log_likelihoods, -math.inf), log_likelihoods
    )
    # Column i without row i: log mean_{j != i} q(y_i | x_j).
    log_mixture = ops.logsumexp(off_diagonal, axis=0) - ops.log(
        ops.cast(size - 1, log_likelihoods.dtype)
    )
    return ops.mean(ops.diagonal(log_likelihoods) - log_mixture)
