"""Gaussian MI from the canonical correlations."""

import math

import numpy as np

from keras_infomin.estimators.common import check_samples

# Canonical correlations this close to 1 are an exact linear relation seen
# through rounding: the MI is infinite.
_EXACT = 1e-12


def canonical_correlations(x, y):
    """Sample canonical correlations of `x` and `y`, largest first.

    The singular values of `Q_x^T Q_y`, with `Q_x`, `Q_y` orthonormal bases
    of the centred columns of `x` and `y` (thin QR decompositions).

    Args:
        x: `[N, dx]` float64 array.
        y: `[N, dy]` float64 array.

    Returns:
        `[min(dx, dy)]` array of correlations in [0, 1].

    Raises:
        ValueError: linearly dependent columns in `x` or `y`.
    """
    bases = []
    for name, array in (("x", x), ("y", y)):
        centred = array - array.mean(axis=0)
        q, r = np.linalg.qr(centred)
        diag = np.abs(np.diag(r))
        if diag.min() <= 1e-10 * diag.max():
            raise ValueError(
                f"`{name}` has linearly dependent columns (rank below "
                f"{array.shape[1]}): drop the redundant ones, or reduce "
                "them with PCA."
            )
        bases.append(q)
    rho = np.linalg.svd(bases[0].T @ bases[1], compute_uv=False)
    return np.clip(rho, 0.0, 1.0)


def cca(x, y):
    r"""Gaussian MI estimate from the canonical correlations, in nats.

        I_CCA = -1/2 sum_i log(1 - rho_i^2)

    with `rho_i` the sample canonical correlations of `x` and `y`. It is
    the MI of the Gaussian with the samples' covariance (plug-in), exact
    in the limit of many samples when `(x, y)` is jointly Gaussian, and
    for any distribution the MI that linear dependence alone accounts for
    (it misses non-linear dependence). It is invariant under invertible
    affine maps of `x` and of `y`, not under non-linear ones.

    Bias: upwards at small N (the sample correlations overfit): about
    `dx * dy / (2 N)` nats for independent variables.

    Reference: Gelfand and Yaglom 1957, "Calculation of the amount of
    information about a random function contained in another such
    function"; the CCA baseline of Czyz et al. 2023 ("Beyond Normal").

    Args:
        x: `[N]` or `[N, dx]` samples.
        y: `[N]` or `[N, dy]` samples, `y[i]` paired with `x[i]`.

    Returns:
        The estimate in nats, a float (`inf` when a linear combination of
        `x` matches one of `y` up to rounding, `1 - rho < 1e-12`).

    Raises:
        ValueError: bad samples (see `check_samples`), fewer rows than
            `dx + dy + 2`, or linearly dependent columns.

    Example:

    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(5000)
    >>> y = 0.8 * x + 0.6 * rng.standard_normal(5000)  # I = 0.51 nats
    >>> round(cca(x, y), 2)
    0.51
    """
    x, y = check_samples(x, y)
    n, dims = len(x), x.shape[1] + y.shape[1]
    if n < dims + 2:
        raise ValueError(
            f"CCA needs more rows than dim_x + dim_y + 1 = {dims + 1} (with "
            "fewer, some canonical correlation is 1 whatever the data); "
            f"received N={n}."
        )
    rho = canonical_correlations(x, y)
    if np.any(rho >= 1.0 - _EXACT):
        return math.inf
    return float(-0.5 * np.sum(np.log1p(-(rho**2))))
