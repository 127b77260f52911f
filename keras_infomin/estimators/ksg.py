"""The Kraskov-Stoegbauer-Grassberger k-nearest-neighbour MI estimator."""

import numpy as np
from scipy import spatial
from scipy import special

from keras_infomin.estimators.common import check_samples
from keras_infomin.estimators.common import standardize as _standardize

METRICS = ("chebyshev", "euclidean")
ALGORITHMS = ("auto", "kd_tree", "brute")
# "auto" takes the k-d tree up to this many dimensions in all (where it
# beats pairwise distances; above, its searches approach N^2 anyway).
_KD_TREE_MAX_DIMS = 8
# Pairwise-distance blocks of at most this many entries (~32 MB each).
_BLOCK = 2**22


def ksg(
    x,
    y,
    k=5,
    metric="chebyshev",
    standardize=True,
    algorithm="auto",
    workers=1,
):
    r"""KSG estimate of I(X; Y) in nats (Kraskov et al. 2004, estimator 1).

    With `d_x`, `d_y` the distances in the x- and y-spaces and the joint
    distance `max(d_x, d_y)`, `eps_i` the joint distance from `(x_i, y_i)`
    to its k-th nearest neighbour, and `n_x(i)`, `n_y(i)` the numbers of
    other points with `d_x < eps_i`, resp. `d_y < eps_i`:

        I_KSG = psi(k) + psi(N) - 1/N sum_i [psi(n_x(i) + 1) + psi(n_y(i) + 1)]

    `metric` is the norm within each space: the max-norm ("chebyshev",
    Kraskov et al.'s choice) or the Euclidean norm (the joint distance
    stays the larger of the two); they agree in one dimension.

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
        metric: "chebyshev" or "euclidean", the norm within each space.
        standardize: scale every column to zero mean and unit variance.
        algorithm: neighbour search, "kd_tree" (`scipy.spatial.cKDTree`,
            chebyshev only; memory O(N), fast in few dimensions), "brute"
            (exact pairwise distances in blocks; memory O(N) per block,
            time O(N^2 d), faster from about ten dimensions) or "auto".
            Both give the same estimate.
        workers: threads for the k-d tree queries (-1: all cores).

    Returns:
        The estimate in nats, a float.

    Raises:
        ValueError: bad samples (see `check_samples`), a bad `k`, `metric`
            or `algorithm`, or repeated points (KSG is for continuous
            data: a point with `k` exact duplicates has `eps_i = 0`).

    Example:

    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(2000)
    >>> y = 0.8 * x + 0.6 * rng.standard_normal(2000)  # I = 0.51 nats
    >>> round(ksg(x, y), 1)
    0.5
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"`k` must be a positive integer; received k={k!r}.")
    if metric not in METRICS:
        raise ValueError(
            f"`metric` must be one of {METRICS}; received {metric!r}."
        )
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"`algorithm` must be one of {ALGORITHMS}; received {algorithm!r}."
        )
    if algorithm == "kd_tree" and metric != "chebyshev":
        raise ValueError(
            "algorithm='kd_tree' needs metric='chebyshev' (the joint "
            "distance max(d_x, d_y) is a norm of the tree's space only "
            "then); use algorithm='brute' or 'auto'."
        )
    x, y = check_samples(x, y)
    n = len(x)
    if k >= n:
        raise ValueError(
            f"`k` must be smaller than the number of rows; received k={k} "
            f"with N={n}."
        )
    if standardize:
        x, y = _standardize(x), _standardize(y)
    if algorithm == "auto":
        few_dims = x.shape[1] + y.shape[1] <= _KD_TREE_MAX_DIMS
        algorithm = "kd_tree" if metric == "chebyshev" and few_dims else "brute"
    search = _counts_kd_tree if algorithm == "kd_tree" else _counts_brute
    eps, n_x, n_y = search(x, y, k, metric, workers)
    if np.any(eps == 0):
        raise ValueError(
            f"{int(np.sum(eps == 0))} points have {k} or more exact "
            "duplicates: KSG needs continuous data. Remove the duplicates, "
            "or add noise far below the data's resolution."
        )
    return float(
        special.digamma(k)
        + special.digamma(n)
        - np.mean(special.digamma(n_x + 1) + special.digamma(n_y + 1))
    )


def _counts_kd_tree(x, y, k, metric, workers):
    """`(eps, n_x, n_y)` through k-d trees in the max-norm."""
    del metric  # chebyshev: the joint distance is the max-norm of [x, y].
    joint = np.concatenate([x, y], axis=1)
    # k + 1 neighbours: the first is the point itself.
    distances, _ = spatial.cKDTree(joint).query(
        joint, k=[k + 1], p=np.inf, workers=workers
    )
    eps = distances[:, 0]
    # Strictly inside eps: the largest radius below it, minus the point.
    radius = np.nextafter(eps, 0.0)
    n_x, n_y = (
        spatial.cKDTree(v).query_ball_point(
            v, radius, p=np.inf, return_length=True, workers=workers
        )
        - 1
        for v in (x, y)
    )
    return eps, n_x, n_y


def _counts_brute(x, y, k, metric, workers):
    """`(eps, n_x, n_y)` from pairwise distances, a block of rows at a time."""
    del workers
    n = len(x)
    eps, n_x, n_y = np.empty(n), np.empty(n, int), np.empty(n, int)
    rows = max(1, _BLOCK // n)
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        d_x = spatial.distance.cdist(x[start:stop], x, metric)
        d_y = spatial.distance.cdist(y[start:stop], y, metric)
        joint = np.maximum(d_x, d_y)
        own = np.arange(stop - start)
        joint[own, start + own] = np.inf  # not its own neighbour
        block_eps = np.partition(joint, k - 1, axis=1)[:, k - 1]
        eps[start:stop] = block_eps
        # Each point counts itself (distance 0 < eps): subtract it.
        n_x[start:stop] = np.sum(d_x < block_eps[:, None], axis=1) - 1
        n_y[start:stop] = np.sum(d_y < block_eps[:, None], axis=1) - 1
    return eps, n_x, n_y
