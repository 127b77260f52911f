"""Jensen-Shannon training of a critic, with an MI estimate read from it."""

from keras import ops

from keras_infomin.bounds.common import mean_negative
from keras_infomin.bounds.common import mean_positive
from keras_infomin.bounds.common import validate_scores
from keras_infomin.bounds.common import value_with_gradient_of
from keras_infomin.bounds.tuba import tuba


def js_fgan(scores, positive_mask=None):
    r"""The f-GAN Jensen-Shannon objective (not an MI value).

        D_JS(f) = E_p[-softplus(-f)] - E_q[softplus(f)]

    i.e. the log-likelihood of a logistic classifier telling positive pairs
    (label 1) from negative pairs (label 0) with logit `f`. Its maximiser is
    the log density ratio `f* = log p(x, y) / (p(x) p(y))`, with no offset.

    Reference: Nowozin et al. 2016, "f-GAN"; Hjelm et al. 2019 (DIM).

    Args:
        scores: `[N, M]` score matrix (see `keras_infomin.bounds`).
        positive_mask: optional boolean `[N, M]` mask of the positives.

    Returns:
        Scalar tensor, the objective (at most 0; -2 log 2 at chance).
    """
    scores, positive_mask = validate_scores(scores, positive_mask)
    positive_term = mean_positive(-ops.softplus(-scores), positive_mask)
    negative_term = mean_negative(ops.softplus(scores), positive_mask)
    return positive_term - negative_term


def js(scores, positive_mask=None):
    r"""Jensen-Shannon MI estimator: JS gradient, TUBA value.

    The critic is trained with the gradient of `js_fgan`, which drives it to
    `f* = log p(x, y) / (p(x) p(y))`. The returned value is the estimate that
    reads the true MI at that critic:

        value = tuba(f, a = 1) = 1 + E_p[f] - E_q[exp f]    (= I at f*)

    Convention note: some published code reports `nwj(f)` instead, which at
    `f*` reads `I - 1/e` (NWJ's optimal critic is `1 + f*`); this package
    reports `tuba(f) = nwj(f + 1)`, which has no offset.

    Cap: none. Bias/variance: the JS gradient is stable (bounded
    per-sample), the TUBA read-out has NWJ's high variance at high MI.

    Reference: Poole et al. 2019, Section 2.3; Hjelm et al. 2019.

    Args:
        scores: `[N, M]` score matrix (see `keras_infomin.bounds`).
        positive_mask: optional boolean `[N, M]` mask of the positives.

    Returns:
        Scalar tensor: the MI estimate in nats, with the JS gradient.
    """
    scores, positive_mask = validate_scores(scores, positive_mask)
    value = tuba(scores, positive_mask=positive_mask)
    return value_with_gradient_of(value, js_fgan(scores, positive_mask))
