"""Ground-truth MI tasks: the Beyond Normal v1 families, by name.

Each task is a joint distribution of `(x, y)` that is easy to sample and
whose mutual information is known in closed form. The names follow the
Beyond Normal benchmark (Czyz et al., NeurIPS 2023), so tables and figures
compare with the paper's task by task. A name is a base distribution with
any number of invertible transforms in front of it:

    [transform-]... base

| base                                   | distribution                      |
|----------------------------------------|-----------------------------------|
| `1v1-normal-{rho}`                     | bivariate normal, correlation rho |
| `1v1-additive-{eps}`                   | X ~ U(0, 1), Y = X + U(-eps, eps) |
| `1v1-bimodal-{rho}`                    | 1v1-normal, mapped to mixtures    |
| `multinormal-dense-{dx}-{dy}-{c}`      | every correlation equal to c      |
| `multinormal-sparse-{dx}-{dy}-{n}-{s}` | n pairs (X_i, Y_i) correlated     |
| `student-identity-{dx}-{dy}-{df}`      | Student-t, dispersion I           |

In the sparse family the correlated pairs have rho = s^2 / (1 + s^2); the
bimodal task maps each side through the quantile function of a mixture of
two unit-variance normals.

| transform     | map (of x and of y separately)                  |
|---------------|-------------------------------------------------|
| `normal_cdf`  | the standard normal CDF, onto (0, 1)            |
| `half_cube`   | t -> t sqrt(abs(t)): heavier tails              |
| `wiggly`      | t -> t + small sines (strictly increasing)      |
| `asinh`       | t -> asinh(t): lighter tails                    |
| `spiral`      | v -> rotation of one coordinate plane by        |
|               | abs(v)^2 / dim (x: plane (0, 1), y: (1, 2))     |
| `swissroll_x` | x only, 1-D -> 2-D: (t cos t, t sin t) / 21,    |
|               | t = 1.5 pi (1 + 2x)                             |

Every transform is injective on the support, so the MI of a transformed
task is its base's. `MI_TASKS_V1` lists the benchmark's 40 tasks; their
true MI ranges from 0.18 to 1.71 nats.

Example:

>>> task = mi_task("half_cube-multinormal-sparse-5-5-2-2.0")
>>> x, y = task.sample(1000, seed=0)
>>> x.shape, y.shape, round(task.mutual_information, 4)
((1000, 5), (1000, 5), 1.0217)
"""

import difflib
import math
import re

import numpy as np
from scipy import special


class MITask:
    """A named joint distribution of `(x, y)` with known MI.

    Build one with `mi_task(name)`. Attributes: `name` (the benchmark's
    task id), `description` (a readable name), `dim_x`, `dim_y`,
    `mutual_information` (nats) and `mutual_information_bits`.
    """

    def __init__(self, name, description, dim_x, dim_y, mi, draw):
        self.name = name
        self.description = description
        self.dim_x = dim_x
        self.dim_y = dim_y
        self.mutual_information = float(mi)
        self._draw = draw

    @property
    def mutual_information_bits(self):
        return self.mutual_information / math.log(2.0)

    def sample(self, n, seed=None, dtype="float32"):
        """Draws `n` i.i.d. pairs.

        Args:
            n: number of pairs, a positive integer.
            seed: int, `numpy.random.Generator` or None (fresh entropy).
                The same int gives the same sample.
            dtype: floating dtype of the arrays (float32, like the
                benchmark's samples, or float64).

        Returns:
            `(x, y)`: arrays of shape `[n, dim_x]` and `[n, dim_y]`.
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(
                f"`n` must be a positive integer; received n={n!r}."
            )
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(
                f"`dtype` must be a floating dtype; received {dtype}."
            )
        rng = (
            seed
            if isinstance(seed, np.random.Generator)
            else np.random.default_rng(seed)
        )
        x, y = self._draw(int(n), rng)
        return x.astype(dtype), y.astype(dtype)

    def __repr__(self):
        return (
            f"MITask({self.name!r}, dim_x={self.dim_x}, dim_y={self.dim_y}, "
            f"mutual_information={self.mutual_information:.4f})"
        )


# ---------------------------------------------------------------------------
# Bases


def _gaussian_mi(covariance, dim_x):
    """I = 1/2 (log det S_xx + log det S_yy - log det S), in nats."""
    logdet = [
        np.linalg.slogdet(m)[1]
        for m in (
            covariance[:dim_x, :dim_x],
            covariance[dim_x:, dim_x:],
            covariance,
        )
    ]
    return 0.5 * (logdet[0] + logdet[1] - logdet[2])


def _gaussian_draw(covariance, dim_x):
    cholesky = np.linalg.cholesky(covariance)

    def draw(n, rng):
        xy = rng.standard_normal((n, len(covariance))) @ cholesky.T
        return xy[:, :dim_x], xy[:, dim_x:]

    return draw


def _check_covariance(covariance, what):
    if np.linalg.eigvalsh(covariance).min() <= 0:
        raise ValueError(
            f"{what}: the covariance is not positive definite; choose "
            "parameters that give a valid joint distribution."
        )


def _bivariate_normal(rho):
    if not -1.0 < rho < 1.0:
        raise ValueError(
            f"The correlation must lie in (-1, 1); received rho={rho}."
        )
    covariance = np.array([[1.0, rho], [rho, 1.0]])
    return (
        "Bivariate normal 1 × 1",
        1,
        1,
        -0.5 * math.log1p(-rho * rho),
        _gaussian_draw(covariance, 1),
    )


def _dense(dim_x, dim_y, off_diag):
    dim = dim_x + dim_y
    covariance = np.full((dim, dim), off_diag) + (1.0 - off_diag) * np.eye(dim)
    _check_covariance(covariance, f"multinormal-dense with c={off_diag}")
    return (
        f"Multinormal {dim_x} × {dim_y} (dense)",
        dim_x,
        dim_y,
        _gaussian_mi(covariance, dim_x),
        _gaussian_draw(covariance, dim_x),
    )


def _sparse(dim_x, dim_y, n_interacting, strength):
    if n_interacting > min(dim_x, dim_y):
        raise ValueError(
            "multinormal-sparse: the number of interacting pairs must be at "
            f"most min(dim_x, dim_y) = {min(dim_x, dim_y)}; received "
            f"{n_interacting}."
        )
    # Latent model: X_i = E_i + s Z_i, Y_i = F_i + s Z_i for the interacting
    # pairs, X_i = E_i + s V_i otherwise, all latents N(0, 1): every
    # coordinate has variance 1 + s^2 and Corr(X_i, Y_i) = s^2 / (1 + s^2).
    rho = strength**2 / (1.0 + strength**2)
    covariance = np.eye(dim_x + dim_y)
    for i in range(n_interacting):
        covariance[i, dim_x + i] = covariance[dim_x + i, i] = rho
    label = "2-pair" if n_interacting == 2 else f"{n_interacting}-pair"
    return (
        f"Multinormal {dim_x} × {dim_y} ({label})",
        dim_x,
        dim_y,
        -0.5 * n_interacting * math.log1p(-rho * rho),
        _gaussian_draw(covariance, dim_x),
    )


def _student_entropy(dim, df):
    """Differential entropy of the standard multivariate t (dispersion I)."""
    half = 0.5 * (df + dim)
    return (
        special.gammaln(0.5 * df)
        - special.gammaln(half)
        + 0.5 * dim * math.log(df * math.pi)
        + half * (special.digamma(half) - special.digamma(0.5 * df))
    )


def _student(dim_x, dim_y, df):
    if not df > 0:
        raise ValueError(
            f"student-identity: the degrees of freedom must be > 0; "
            f"received {df}."
        )
    # With dispersion I the Gaussian part of the MI vanishes; what remains is
    # h(X) + h(Y) - h(X, Y) of the standard t (Arellano-Valle et al. 2013).
    mi = (
        _student_entropy(dim_x, df)
        + _student_entropy(dim_y, df)
        - _student_entropy(dim_x + dim_y, df)
    )

    def draw(n, rng):
        # t = Z / sqrt(W / df), one chi-square W per pair shared by x and y.
        z = rng.standard_normal((n, dim_x + dim_y))
        w = rng.chisquare(df, size=(n, 1))
        xy = z / np.sqrt(w / df)
        return xy[:, :dim_x], xy[:, dim_x:]

    return f"Student-t {dim_x} × {dim_y} (dof={df})", dim_x, dim_y, mi, draw


def _additive(eps):
    if not eps > 0:
        raise ValueError(
            f"1v1-additive: the noise half-width must be > 0; received {eps}."
        )
    # I = h(Y) - h(Y | X) with h(Y | X) = log(2 eps) and Y's trapezoidal
    # density (triangular when eps >= 1/2 overlaps fully).
    mi = 0.25 / eps if eps > 0.5 else eps - math.log(2.0 * eps)

    def draw(n, rng):
        x = rng.uniform(0.0, 1.0, (n, 1))
        return x, x + rng.uniform(-eps, eps, (n, 1))

    return f"Uniform 1 × 1 (additive noise={eps})", 1, 1, mi, draw


# Two-component Gaussian mixtures (unit variances) of the bimodal task:
# (weights, means) for x and for y.
_BIMODAL_X = ((0.3, 0.7), (0.0, 5.0))
_BIMODAL_Y = ((0.5, 0.5), (-1.0, 3.0))


def _mixture_quantile_of_normal(z, weights, means, iterations=64):
    """Solves F(t) = Phi(z) for the mixture CDF F = sum_k w_k Phi(t - m_k).

    Phi(t - max m) <= F(t) <= Phi(t - min m), so the root lies in
    [z + min m, z + max m]; bisection compares log CDFs on the lower half
    and log survival functions on the upper half, exact in the tails.
    """
    log_w = np.log(np.asarray(weights))[:, None]
    means = np.asarray(means)[:, None]
    lower_half = z <= 0
    target = np.where(lower_half, special.log_ndtr(z), special.log_ndtr(-z))
    lo = z + means.min()
    hi = z + means.max()
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        log_cdf = special.logsumexp(log_w + special.log_ndtr(mid - means), 0)
        log_sf = special.logsumexp(log_w + special.log_ndtr(means - mid), 0)
        below = np.where(lower_half, log_cdf < target, log_sf > target)
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
    return 0.5 * (lo + hi)


def _bimodal(rho):
    description, _, _, mi, gaussian = _bivariate_normal(rho)

    def draw(n, rng):
        # x = F_x^-1(Phi(z)): a monotone map of the Gaussian coordinate.
        zx, zy = gaussian(n, rng)
        return (
            _mixture_quantile_of_normal(zx[:, 0], *_BIMODAL_X)[:, None],
            _mixture_quantile_of_normal(zy[:, 0], *_BIMODAL_Y)[:, None],
        )

    return "Bimodal 1 × 1", 1, 1, mi, draw


_NUM = r"(-?\d+(?:\.\d*)?(?:e-?\d+)?)"
_INT = r"(\d+)"
_BASES = (
    (rf"1v1-normal-{_NUM}", ("rho",), _bivariate_normal),
    (rf"1v1-additive-{_NUM}", ("eps",), _additive),
    (rf"1v1-bimodal-{_NUM}", ("rho",), _bimodal),
    (
        rf"multinormal-dense-{_INT}-{_INT}-{_NUM}",
        ("dx", "dy", "c"),
        _dense,
    ),
    (
        rf"multinormal-sparse-{_INT}-{_INT}-{_INT}-{_NUM}",
        ("dx", "dy", "n", "s"),
        _sparse,
    ),
    (rf"student-identity-{_INT}-{_INT}-{_NUM}", ("dx", "dy", "df"), _student),
)


def _canonical_number(text, integer):
    value = int(text) if integer else float(text)
    return value, str(value)


def _parse_base(name):
    for pattern, fields, build in _BASES:
        match = re.fullmatch(pattern, name)
        if match is None:
            continue
        values, parts = [], [pattern.split("-(")[0]]
        for field, text in zip(fields, match.groups()):
            integer = field in ("dx", "dy", "n") or (
                field == "df" and "." not in text and "e" not in text
            )
            value, label = _canonical_number(text, integer)
            if field in ("dx", "dy") and value < 1:
                raise ValueError(
                    f"MI task {name!r}: dimensions must be >= 1; received "
                    f"{value}."
                )
            values.append(value)
            parts.append(label)
        return "-".join(parts), build(*values)
    return None


# ---------------------------------------------------------------------------
# Transforms: name -> (x map, y map, description, check of the dims).


def _half_cube(t):
    return t * np.sqrt(np.abs(t))


def _wiggly_x(t):
    return (
        t
        + 0.4 * np.sin(t)
        + 0.2 * np.sin(1.7 * t + 1.0)
        + 0.03 * np.sin(3.3 * t - 2.5)
    )


def _wiggly_y(t):
    return (
        t
        - 0.4 * np.sin(0.4 * t)
        + 0.17 * np.sin(1.3 * t + 3.5)
        + 0.02 * np.sin(4.3 * t - 2.5)
    )


def _spiral(plane):
    """v -> rotation of the coordinates `plane` by angle |v|^2 / dim."""
    i, j = plane

    def apply(v):
        angle = np.sum(v * v, axis=1) / v.shape[1]
        cos, sin = np.cos(angle), np.sin(angle)
        out = v.copy()
        out[:, i] = cos * v[:, i] - sin * v[:, j]
        out[:, j] = sin * v[:, i] + cos * v[:, j]
        return out

    return apply


def _swissroll(u):
    t = 1.5 * math.pi * (1.0 + 2.0 * u[:, 0])
    return np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / 21.0


def _need(name, dim_x, dim_y, min_x, min_y, exact_x=False):
    bad_x = dim_x != min_x if exact_x else dim_x < min_x
    if bad_x or dim_y < min_y:
        need_x = f"dim_x == {min_x}" if exact_x else f"dim_x >= {min_x}"
        raise ValueError(
            f"The {name!r} transform needs {need_x} and dim_y >= {min_y}; "
            f"the task below it has dim_x={dim_x}, dim_y={dim_y}."
        )


_TRANSFORMS = {
    "normal_cdf": (special.ndtr, special.ndtr, "Normal CDF"),
    "half_cube": (_half_cube, _half_cube, "Half-cube"),
    "wiggly": (_wiggly_x, _wiggly_y, "Wiggly"),
    "asinh": (np.arcsinh, np.arcsinh, "Asinh"),
    "spiral": (_spiral((0, 1)), _spiral((1, 2)), "Spiral"),
    "swissroll_x": (_swissroll, None, "Swiss roll"),
}


def _apply(transform, description, dim_x, dim_y, draw):
    fx, fy, label = _TRANSFORMS[transform]
    if transform == "spiral":
        _need(transform, dim_x, dim_y, 2, 3)
    if transform == "swissroll_x":
        _need(transform, dim_x, dim_y, 1, 1, exact_x=True)
        dim_x = 2

    def transformed(n, rng):
        x, y = draw(n, rng)
        return fx(x), (y if fy is None else fy(y))

    return f"{label} @ {description}", dim_x, dim_y, transformed


# ---------------------------------------------------------------------------
# Registry

MI_TASKS_V1 = (
    # One-dimensional x and y.
    "1v1-normal-0.75",
    "normal_cdf-1v1-normal-0.75",
    "1v1-additive-0.1",
    "1v1-additive-0.75",
    "1v1-bimodal-0.75",
    "wiggly-1v1-normal-0.75",
    "half_cube-1v1-normal-0.75",
    "student-identity-1-1-1",
    "asinh-student-identity-1-1-1",
    # Embedding of a 1-D variable in 2-D.
    "swissroll_x-normal_cdf-1v1-normal-0.75",
    # Multivariate normal.
    "multinormal-dense-2-2-0.5",
    "multinormal-dense-3-3-0.5",
    "multinormal-dense-5-5-0.5",
    "multinormal-dense-25-25-0.5",
    "multinormal-dense-50-50-0.5",
    "multinormal-sparse-2-2-2-2.0",
    "multinormal-sparse-3-3-2-2.0",
    "multinormal-sparse-5-5-2-2.0",
    "multinormal-sparse-25-25-2-2.0",
    # Student-t.
    "student-identity-2-2-1",
    "student-identity-2-2-2",
    "student-identity-3-3-2",
    "student-identity-3-3-3",
    "student-identity-5-5-2",
    "student-identity-5-5-3",
    # Transformed.
    "normal_cdf-multinormal-sparse-3-3-2-2.0",
    "normal_cdf-multinormal-sparse-5-5-2-2.0",
    "normal_cdf-multinormal-sparse-25-25-2-2.0",
    "half_cube-multinormal-sparse-3-3-2-2.0",
    "half_cube-multinormal-sparse-5-5-2-2.0",
    "half_cube-multinormal-sparse-25-25-2-2.0",
    "spiral-multinormal-sparse-3-3-2-2.0",
    "spiral-multinormal-sparse-5-5-2-2.0",
    "spiral-multinormal-sparse-25-25-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-3-3-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-5-5-2-2.0",
    "spiral-normal_cdf-multinormal-sparse-25-25-2-2.0",
    "asinh-student-identity-2-2-1",
    "asinh-student-identity-3-3-2",
    "asinh-student-identity-5-5-2",
)

_GRAMMAR = (
    "[transform-]...base with transforms "
    + ", ".join(_TRANSFORMS)
    + " and bases 1v1-normal-{rho}, 1v1-additive-{eps}, 1v1-bimodal-{rho}, "
    "multinormal-dense-{dx}-{dy}-{c}, multinormal-sparse-{dx}-{dy}-{n}-{s}, "
    "student-identity-{dx}-{dy}-{df}"
)


def mi_task(name):
    """A ground-truth MI task from its Beyond Normal name.

    Args:
        name: `[transform-]...base`, for example `"1v1-normal-0.75"`,
            `"multinormal-sparse-5-5-2-2.0"` or
            `"spiral-normal_cdf-multinormal-sparse-3-3-2-2.0"` (see the
            module docstring; `MI_TASKS_V1` lists the benchmark's 40).
            Numbers are read as numbers, so `"...-2-2"` is the task
            `"...-2-2.0"`; the returned task carries the benchmark's
            spelling.

    Returns:
        An `MITask` with `sample(n, seed)`, `mutual_information` (nats),
        `dim_x`, `dim_y`, `name` and `description`.

    Raises:
        ValueError: an unknown name (with close matches), parameters out of
            range, or a transform that does not fit the dimensions.

    Example:

    >>> task = mi_task("1v1-additive-0.75")
    >>> round(task.mutual_information, 4), task.dim_x, task.dim_y
    (0.3333, 1, 1)
    """
    if not isinstance(name, str):
        raise TypeError(
            f"`name` must be a task name (str); received {type(name)}."
        )
    transforms = []
    rest = name
    while True:
        head, _, tail = rest.partition("-")
        if head in _TRANSFORMS and tail:
            transforms.append(head)
            rest = tail
        else:
            break
    parsed = _parse_base(rest)
    if parsed is None:
        close = difflib.get_close_matches(name, MI_TASKS_V1, n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(
            f"Unknown MI task {name!r}.{hint} Names read {_GRAMMAR}; "
            "`MI_TASKS_V1` lists the benchmark's tasks."
        )
    canonical, (description, dim_x, dim_y, mi, draw) = parsed
    for transform in reversed(transforms):
        description, dim_x, dim_y, draw = _apply(
            transform, description, dim_x, dim_y, draw
        )
        canonical = f"{transform}-{canonical}"
    return MITask(canonical, description, dim_x, dim_y, mi, draw)


__all__ = ["MITask", "MI_TASKS_V1", "mi_task"]
