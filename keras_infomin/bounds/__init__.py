"""Mutual-information bounds as pure functions of a score matrix.

Every bound reads `scores` of shape `[N, M]`, `M >= N`, with
`scores[i, j] = f(x_i, y_j)`: the positive pair of row `i` sits in column `i`
(or where a boolean `positive_mask` says), all other entries are negatives.
Each returns a scalar in nats. Bounds are written with `keras.ops`.

| bound          | value                                    | cap            |
|----------------|------------------------------------------|----------------|
| `infonce`      | mean(S_ii - logsumexp_j S_ij) + log M    | log M          |
| `nwj`          | E_p f - e^-1 E_q e^f                     | none           |
| `tuba`         | 1 + E_p[f - log a] - E_q[e^(f - log a)]  | none           |
| `dv`           | E_p f - log E_q e^f                      | none           |
| `mine`         | DV value, moving-average gradient        | none           |
| `js`           | TUBA(a=1) value, Jensen-Shannon gradient | none           |
| `smile`        | E_p f - log E_q e^clip(f), JS gradient   | none           |
| `interpolated` | TUBA, alpha-mixed InfoNCE baseline       | 1+log(K/alpha) |

Upper bounds, for minimising MI, read log-likelihoods
`L[i, j] = log q(y_j | x_i)` of a variational conditional instead
(`UPPER_BOUNDS`, `get_upper`):

| bound   | value                                   |
|---------|-----------------------------------------|
| `club`  | mean L over positives - over negatives  |
| `l1out` | mean_i(L_ii - log mean_{j!=i} exp L_ji) |

`conditional_log_likelihood` (the mean of L over the positives) is what
`q` maximises.
"""

from keras_infomin.bounds.common import log_mean_exp_offdiagonal
from keras_infomin.bounds.common import to_bits
from keras_infomin.bounds.common import validate_scores
from keras_infomin.bounds.dv import dv
from keras_infomin.bounds.dv import mine
from keras_infomin.bounds.dv import smile
from keras_infomin.bounds.fused import infonce_dot
from keras_infomin.bounds.infonce import infonce
from keras_infomin.bounds.js import js
from keras_infomin.bounds.js import js_fgan
from keras_infomin.bounds.tuba import interpolated
from keras_infomin.bounds.tuba import nwj
from keras_infomin.bounds.tuba import tuba
from keras_infomin.bounds.upper import club
from keras_infomin.bounds.upper import conditional_log_likelihood
from keras_infomin.bounds.upper import l1out

BOUNDS = {
    "infonce": infonce,
    "nwj": nwj,
    "tuba": tuba,
    "dv": dv,
    "mine": mine,
    "js": js,
    "smile": smile,
    "interpolated": interpolated,
}


# Upper bounds read log q(y_j | x_i), not critic scores: maximising one over
# a critic would diverge, so they are kept apart from `BOUNDS`.
UPPER_BOUNDS = {
    "club": club,
    "l1out": l1out,
}


def get(identifier):
    """Returns a lower bound function from its name (or the function itself).

    Every entry maps `scores` to a scalar in nats, except `mine`, which
    carries a running state and returns `(bound, new_state)` (see `mine`;
    `keras_infomin.losses.Objective` carries that state for the losses,
    the metric and the trainers).
    """
    if callable(identifier):
        return identifier
    if identifier in BOUNDS:
        return BOUNDS[identifier]
    if identifier in UPPER_BOUNDS:
        raise ValueError(
            f"{identifier!r} is an upper bound on log-likelihoods "
            "log q(y_j | x_i), not a lower bound on critic scores; use "
            "`bounds.get_upper`."
        )
    raise ValueError(
        f"Unknown bound {identifier!r}; expected one of {sorted(BOUNDS)} or a "
        "callable scores -> scalar."
    )


def get_upper(identifier):
    """Returns an upper bound function from its name (or the function)."""
    if callable(identifier):
        return identifier
    if identifier in UPPER_BOUNDS:
        return UPPER_BOUNDS[identifier]
    raise ValueError(
        f"Unknown upper bound {identifier!r}; expected one of "
        f"{sorted(UPPER_BOUNDS)} or a callable log_likelihoods -> scalar."
    )


__all__ = [
    "BOUNDS",
    "UPPER_BOUNDS",
    "club",
    "conditional_log_likelihood",
    "dv",
    "get",
    "get_upper",
    "infonce",
    "infonce_dot",
    "interpolated",
    "js",
    "js_fgan",
    "l1out",
    "log_mean_exp_offdiagonal",
    "mine",
    "nwj",
    "smile",
    "to_bits",
    "tuba",
    "validate_scores",
]
