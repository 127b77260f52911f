"""Argument checks that raise errors naming the argument and the fix."""

import math

import numpy as np
import tensorflow as tf
from keras import backend
from keras import ops


def check_positive(name, value, allow_none=False, allow_zero=False):
    """Raises `ValueError` unless `value` is a positive (finite) number."""
    if value is None and allow_none:
        return value
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = ok and math.isfinite(value)
    ok = ok and (value >= 0 if allow_zero else value > 0)
    if not ok:
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(
            f"`{name}` must be a finite number {bound}; "
            f"received {name}={value!r}."
        )
    return value


def check_int(name, value, minimum, allow_none=False):
    """`value` as an int if it is an integer >= `minimum` (or `None` when
    `allow_none`), else a clear `ValueError`. Booleans are refused."""
    if allow_none and value is None:
        return None
    integer = isinstance(value, (int, np.integer))
    if isinstance(value, bool) or not integer or value < minimum:
        raise ValueError(
            f"`{name}` must be an int >= {minimum}"
            f"{' or None' if allow_none else ''}; received {name}={value!r}."
        )
    return int(value)


def check_in_range(name, value, low, high, low_open=False, high_open=False):
    """Raises `ValueError` unless `low <= value <= high` (or open ends)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        raise ValueError(
            f"`{name}` must lie in {left}{low}, {high}{right}; "
            f"received {name}={value!r}."
        )
    return value


def check_float_tensor(name, x):
    """Converts `x` to a tensor and raises `TypeError` unless it is floating.

    A `tf.Variable` is read (Keras' conversion returns it unchanged), so
    callers always hold a tensor.
    """
    x = ops.convert_to_tensor(x)
    if isinstance(x, tf.Variable):
        x = tf.convert_to_tensor(x)
    dtype = backend.standardize_dtype(x.dtype)
    if "float" not in dtype:
        raise TypeError(
            f"`{name}` must be a floating-point tensor (float16, bfloat16, "
            f"float32 or float64); received dtype {dtype}. Cast it first, "
            f"for example with keras.ops.cast({name}, 'float32')."
        )
    return x


def check_rank(name, x, rank, what=""):
    """Raises `ValueError` unless `x` has the static rank `rank`."""
    shape = tuple(x.shape)
    if len(shape) != rank:
        extra = f" ({what})" if what else ""
        raise ValueError(
            f"`{name}` must have rank {rank}{extra}; received shape {shape}."
        )
    return x
