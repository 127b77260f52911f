"""Classical MI estimators from samples: numpy and scipy, no TensorFlow.

Side-by-side baselines for the neural bounds: each reads paired samples
`x` `[N, dx]` and `y` `[N, dy]` and returns an estimate in nats.

| estimator | method                                      |
|-----------|---------------------------------------------|
| `ksg`     | k-nearest neighbours (Kraskov et al. 2004)  |
| `cca`     | Gaussian MI of the canonical correlations   |

KSG follows non-linear dependence but falls below the truth in high
dimension and at high MI; CCA is exact for Gaussians in any dimension and
blind to non-linear dependence.
"""

from keras_infomin.estimators.cca import canonical_correlations
from keras_infomin.estimators.cca import cca
from keras_infomin.estimators.common import check_samples
from keras_infomin.estimators.ksg import ksg

ESTIMATORS = {"ksg": ksg, "cca": cca}


def get(identifier):
    """Returns a classical estimator from its name (or the callable)."""
    if callable(identifier):
        return identifier
    if identifier in ESTIMATORS:
        return ESTIMATORS[identifier]
    raise ValueError(
        f"Unknown estimator {identifier!r}; expected one of "
        f"{sorted(ESTIMATORS)} or a callable (x, y) -> nats."
    )


__all__ = [
    "ESTIMATORS",
    "canonical_correlations",
    "cca",
    "check_samples",
    "get",
    "ksg",
]
