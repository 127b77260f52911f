"""Mutual-information lower bounds as pure functions of a score matrix.

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


def get(identifier):
    """Returns a bound function from its name (or the function itself).

    Every entry maps `scores` to a scalar in nats, except `mine`, which
    carries a running state and returns `(bound, new_state)` (see `mine`;
    `keras_infomin.losses.Objective` carries that state for the losses,
    the metric and the trainers).
    """
    if callable(identifier):
        return identifier
    if identifier in BOUNDS:
        return BOUNDS[identifier]
    raise ValueError(
        f"Unknown bound {identifier!r}; expected one of {sorted(BOUNDS)} or a "
        "callable scores -> scalar."
    )


__all__ = [
    "BOUNDS",
    "dv",
    "get",
    "infonce",
    "infonce_dot",
    "interpolated",
    "js",
    "js_fgan",
    "log_mean_exp_offdiagonal",
    "mine",
    "nwj",
    "smile",
    "to_bits",
    "tuba",
    "validate_scores",
]
