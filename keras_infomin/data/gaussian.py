"""Correlated Gaussians: the field's standard MI-estimation benchmark.

`x ~ N(0, I_d)` and `y = rho x + sqrt(1 - rho^2) e` with `e ~ N(0, I_d)`
independent, so every coordinate pair is a bivariate normal with correlation
`rho` and

    I(X; Y) = -(d / 2) log(1 - rho^2),   rho = sqrt(1 - exp(-2 I / d)).

The cubic variant maps `y -> y^3` elementwise: a bijection, so the MI is
unchanged, but the critic has a harder function to learn.
"""

import math

import numpy as np

from keras_infomin.utils.validation import check_in_range
from keras_infomin.utils.validation import check_positive


def _check_dim(dim):
    if not isinstance(dim, int) or isinstance(dim, bool) or dim < 1:
        raise ValueError(f"`dim` must be a positive integer; received {dim!r}.")
    return dim


def rho_for_mi(mi, dim):
    """Correlation giving a true MI of `mi` nats between d-dim Gaussians.

    Example:

    >>> round(rho_for_mi(2.0, 20), 4)
    0.4258
    """
    check_positive("mi", mi, allow_zero=True)
    _check_dim(dim)
    return math.sqrt(1.0 - math.exp(-2.0 * mi / dim))


def mi_for_rho(rho, dim):
    """True MI in nats for per-coordinate correlation `rho`, `|rho| < 1`."""
    check_in_range("rho", rho, -1.0, 1.0, low_open=True, high_open=True)
    _check_dim(dim)
    return -0.5 * dim * math.log(1.0 - rho * rho)


def correlated_gaussians(batch_size, dim=20, mi=2.0, cubic=False, seed=None):
    """Draws `batch_size` pairs `(x, y)` with a known mutual information.

    Args:
        batch_size: number of pairs.
        dim: dimension `d` of `x` and `y`.
        mi: true MI in nats (>= 0).
        cubic: apply `y -> y^3` (MI unchanged).
        seed: int or `numpy.random.Generator`.

    Returns:
        `(x, y, true_mi)`: two float32 `[batch_size, dim]` arrays and the MI.

    Example:

    >>> x, y, true_mi = correlated_gaussians(64, dim=20, mi=4.0, seed=0)
    >>> x.shape, round(true_mi, 1)
    ((64, 20), 4.0)
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(
            f"`batch_size` must be a positive integer; received {batch_size!r}."
        )
    rho = rho_for_mi(mi, dim)
    rng = seed if isinstance(seed, np.random.Generator) else None
    rng = rng or np.random.default_rng(seed)
    x = rng.standard_normal((batch_size, dim))
    noise = rng.standard_normal((batch_size, dim))
    y = rho * x + math.sqrt(1.0 - rho * rho) * noise
    if cubic:
        y = y**3
    return x.astype("float32"), y.astype("float32"), float(mi)


def gaussian_log_density_ratio(x, y, mi, cubic=False):
    """The optimal critic: `log p(y_j | x_i) / p(y_j)` for every pair.

    For this benchmark the log density ratio is known in closed form:

        log r(x, y) = -(d/2) log(1 - rho^2)
                      - |y - rho x|^2 / (2 (1 - rho^2)) + |y|^2 / 2

    (for the cubic variant, evaluated at `y^(1/3)`: a bijection of `y` leaves
    the ratio unchanged). Plugging it into a bound shows the bound's own bias,
    free of any critic training.

    Args:
        x: `[N, d]` array.
        y: `[M, d]` array.
        mi: the true MI used to draw the data.
        cubic: whether `y` was cubed.

    Returns:
        float64 `[N, M]` score matrix.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if cubic:
        y = np.cbrt(y)
    dim = x.shape[1]
    rho = rho_for_mi(mi, dim)
    var = 1.0 - rho * rho
    sq = (
        np.sum(y * y, axis=1)[None, :]
        - 2.0 * rho * x @ y.T
        + rho * rho * np.sum(x * x, axis=1)[:, None]
    )
    return (
        -0.5 * dim * math.log(var)
        - sq / (2.0 * var)
        + 0.5 * np.sum(y * y, axis=1)[None, :]
    )


def gaussian_mi_dataset(
    mi_levels=(2.0, 4.0, 6.0, 8.0, 10.0),
    steps_per_level=4000,
    batch_size=64,
    dim=20,
    cubic=False,
    seed=0,
):
    """A `tf.data.Dataset` of fresh `(x, y)` batches whose MI steps up.

    Step `t` draws a new batch at true MI `mi_levels[t // steps_per_level]`
    (the schedule of Poole et al. and Song and Ermon). Batches are drawn
    with stateless random ops from `(seed, t)`: reproducible, and cheap
    enough to never starve a critic's training step.

    Args:
        mi_levels: sequence of true MI values in nats.
        steps_per_level: batches per level.
        batch_size, dim, cubic: as in `correlated_gaussians`.
        seed: integer seed.

    Returns:
        `(dataset, true_mi)`: the dataset of `(x, y)` tuples and a float32
        numpy array with the true MI of every step.
    """
    import tensorflow as tf

    if not mi_levels:
        raise ValueError("`mi_levels` must name at least one MI value.")
    check_positive("steps_per_level", steps_per_level)
    rhos = np.array([rho_for_mi(m, dim) for m in mi_levels], "float32")
    true_mi = np.repeat(np.asarray(mi_levels, "float32"), steps_per_level)
    rho_table = tf.constant(rhos)

    def draw(step):
        rho = rho_table[step // steps_per_level]
        key = tf.stack([tf.cast(seed, tf.int64), step])
        keys = tf.random.experimental.stateless_split(key, 2)
        x = tf.random.stateless_normal((batch_size, dim), keys[0])
        noise = tf.random.stateless_normal((batch_size, dim), keys[1])
        y = rho * x + tf.sqrt(1.0 - rho * rho) * noise
        if cubic:
            y = y**3
        return x, y

    steps = len(mi_levels) * steps_per_level
    dataset = tf.data.Dataset.range(steps).map(
        draw, num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset.prefetch(tf.data.AUTOTUNE), true_mi


def estimate_statistics(estimates, true_mi, skip_fraction=0.5):
    """Bias, variance and MSE of per-step estimates at each true-MI level.

    The first `skip_fraction` of each level's steps are skipped (the critic
    is still adapting after the jump); the rest give

        bias = mean(est) - I,  variance = var(est),  mse = mean((est - I)^2).

    Args:
        estimates: per-step estimates, in step order.
        true_mi: per-step true MI (same length), e.g. from
            `gaussian_mi_dataset`.
        skip_fraction: fraction of each level skipped, in [0, 1).

    Returns:
        A list of dicts, one per level in order of appearance, with keys
        `true_mi`, `mean`, `bias`, `variance`, `mse` and `steps`.
    """
    check_in_range("skip_fraction", skip_fraction, 0.0, 1.0, high_open=True)
    estimates = np.asarray(estimates, dtype="float64")
    true_mi = np.asarray(true_mi, dtype="float64")
    if estimates.shape != true_mi.shape:
        raise ValueError(
            "`estimates` and `true_mi` must have the same length; received "
            f"{estimates.shape} and {true_mi.shape}."
        )
    rows = []
    levels = true_mi[np.r_[True, np.diff(true_mi) != 0]]
    for level in levels:
        values = estimates[true_mi == level]
        values = values[int(len(values) * skip_fraction) :]
        errors = values - level
        rows.append(
            {
                "true_mi": float(level),
                "mean": float(values.mean()),
                "bias": float(errors.mean()),
                "variance": float(values.var()),
                "mse": float(np.mean(errors**2)),
                "steps": int(len(values)),
            }
        )
    return rows
