"""The Kraskov-Stoegbauer-Grassberger k-nearest-neighbour MI estimator."""

import numpy as np
from scipy import spatial
from scipy import special

from keras_infomin.estimators.common import check_samples
from keras_infomin.estimators.common import standardize as _standardize


def ksg(x, y, k=5, standardize=True, workers=1):
    r"""KSG estimate of I(X; Y) in nats (Kraskov et al. 2004, estimator 1).

    With the max-norm in the joint space, `eps_i` the distance from
    `(x_i, y_i)` to its k-th nearest neighbour, and `n_x(i)`, `n_y(i)` the
    numbers of other points strictly closer than `eps_i` to `x_i` in the
    x-space and to `y_i` in the y-space (max-norm too):

        I_KSG = psi(k) + psi(N) - 1/N sum_i [psi(n_x(i) + 1) + psi(n_y(i) + 1)]

    Bias: exact (zero in expectation) for independent variables; small for
    smooth densities in few dimensions, growing with the dimension and with
    the MI (the estimate falls below the truth when the MI is high, as the
    k-NN balls stop being small). Larger `k` lowers the variance and raises
    the bias. The estimate is not clipped: a negative value means that no
    dependence was resolved.

    The distances mix the coordinates, so the estimate depends on their
    scales; `standardize` brings every column to unit variance first, as
    Kraskov et al. advise (and as the Beyond Normal benchmark does).

    Reference: Kraskov, Stoegbauer and Grassberger 2004, "Estimating mutual
    information", Phys. Rev. E 69, Eq. (8).

    Args:
        x: `[N]` or `[N, dx]` samples.
        y: `[N]` or `[N, dy]` samples, `y[i]` paired with `x[i]`.
        k: number of neighbours, `1 <= k < N`.
        standardize: scale every column to zero mean and unit variance.
        workers: threads for the k-d tree queries (-1: all cores).

    Returns:
        The estimate in nats, a float.

    Raises:
        ValueError: bad samples (see `check_samples`), a bad `k`, or
            repeated points (KSG is for continuous data: a point with `k`
            exact duplicates has `eps_i = 0`).

    Example:

    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = 0.8 * x + 0.6 * rng.standard_normal(2000)  # I = 0.51 nats
    >>> round(ksg(x, y), 1)
    0.5
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"`k` must be a positive integer; received k={k!r}.")
    x, y = check_samples(x, y)
    n = len(x)
    if k >= n:
        raise ValueError(
            f"`k` must be smaller than the number of rows; received k={k} "
            f"with N={n}."
        )
    if standardize:
        x, y = _standardize(x), _standardize(y)
    joint = np.concatenate([x, y], axis=1)
    # k + 1 neighbours: the first is the point itself.
    distances, _ = spatial.cKDTree(joint).query(
        joint, k=[k + 1], p=np.inf, workers=workers
    )
    eps = distances[:, 0]
    if np.any(eps == 0):
        raise ValueError(
            f"{int(np.sum(eps == 0))} points have {k} or more exact "
            "duplicates: KSG needs continuous data. Remove the duplicates, "
            "or add noise far below the data's resolution."
        )
    # Strictly inside eps: the largest radius below it, minus the point.
    radius = np.nextafter(eps, 0.0)
    counts = [
        spatial.cKDTree(v).query_ball_point(
            v, radius, p=np.inf, return_length=True, workers=workers
        )
        - 1
        for v in (x, y)
    ]
    return float(
        special.digamma(k)
        + special.digamma(n)
        - np.mean(
            special.digamma(counts[0] + 1) + special.digamma(counts[1] + 1)
        )
    )
