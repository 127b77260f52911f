"""Checks shared by the sample-based MI estimators."""

import numpy as np

# Fewest pairs any estimator here accepts; KSG and CCA ask for more when
# their own parameters need it (k + 1 rows, dim_x + dim_y + 1 rows).
MIN_ROWS = 5


def check_samples(x, y, min_rows=MIN_ROWS):
    """Validates paired samples and returns them as float64 `[N, d]` arrays.

    A 1-D array is read as one feature per row.

    Args:
        x: `[N]` or `[N, dx]` array-like of real numbers.
        y: `[N]` or `[N, dy]` array-like, row `i` paired with `x[i]`.
        min_rows: the least `N` the caller can work with.

    Returns:
        `(x, y)`, float64 arrays of rank 2.

    Raises:
        ValueError: rank above 2, different numbers of rows, fewer than
            `min_rows` rows, NaN or infinite values, or a constant column.
        TypeError: values that are not real numbers.
    """
    arrays = []
    for name, value in (("x", x), ("y", y)):
        array = np.asarray(value)
        if array.dtype.kind not in "biuf":
            raise TypeError(
                f"`{name}` must hold real numbers; received dtype "
                f"{array.dtype}."
            )
        if array.ndim == 1:
            array = array[:, None]
        if array.ndim != 2 or array.shape[1] == 0:
            raise ValueError(
                f"`{name}` must be [N] or [N, features] with at least one "
                f"feature; received shape {np.shape(value)}."
            )
        arrays.append(array.astype(np.float64))
    x, y = arrays
    if len(x) != len(y):
        raise ValueError(
            "`x` and `y` must have the same number of rows (row i of x is "
            f"paired with row i of y); received {len(x)} and {len(y)}."
        )
    if len(x) < min_rows:
        raise ValueError(
            f"At least {min_rows} paired rows are needed; received {len(x)}."
        )
    for name, array in (("x", x), ("y", y)):
        bad = ~np.isfinite(array)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise ValueError(
                f"`{name}` holds {int(bad.sum())} NaN or infinite values "
                f"(first at row {row}, column {col}); drop or impute them "
                "first."
            )
        constant = np.flatnonzero(np.ptp(array, axis=0) == 0)
        if constant.size:
            raise ValueError(
                f"`{name}` has constant columns {constant.tolist()}: they "
                "carry no information and make the estimate undefined; "
                "drop them."
            )
    return x, y


def standardize(array):
    """Each column to zero mean and unit variance."""
    return (array - array.mean(axis=0)) / array.std(axis=0)
