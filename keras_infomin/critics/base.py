"""The critic contract: a layer mapping `(x, y)` to an `[N, M]` score matrix."""

import keras
from keras import ops

from keras_infomin.utils.validation import check_float_tensor
from keras_infomin.utils.validation import check_rank


class Critic(keras.layers.Layer):
    """Base class of the critics: `call(x, y)` scores every pair.

    `x` is `[N, dx]`, `y` is `[M, dy]` with `M >= N`; the result `S` has
    `S[i, j] = f(x_i, y_j)`, the positives on the diagonal (`y[:N]` are the
    partners of `x`), the convention every function of
    `keras_infomin.bounds` reads. Subclasses implement `score(x, y)`.
    """

    def score(self, x, y):
        raise NotImplementedError

    def _check(self, x, y):
        x = check_float_tensor("x", x)
        y = check_float_tensor("y", y)
        check_rank("x", x, 2, "[N, features]")
        check_rank("y", y, 2, "[M, features]")
        n, m = x.shape[0], y.shape[0]
        if n is not None and m is not None and m < n:
            raise ValueError(
                f"{type(self).__name__}: `y` must have at least as many rows "
                f"as `x` (y[:N] are the partners of x, further rows extra "
                f"negatives); received x {tuple(x.shape)} and y "
                f"{tuple(y.shape)}."
            )
        return x, y

    def call(self, x, y):
        x, y = self._check(x, y)
        return self.score(x, y)

    def compute_output_shape(self, x_shape, y_shape):
        return (x_shape[0], y_shape[0])


def dense_stack(units, activation, name, kernel_initializer="glorot_uniform"):
    """A list of Dense layers, the last one linear."""
    layers = []
    for i, width in enumerate(units):
        last = i == len(units) - 1
        layers.append(
            keras.layers.Dense(
                width,
                activation=None if last else activation,
                kernel_initializer=kernel_initializer,
                name=f"{name}_{i}",
            )
        )
    return layers


def apply_stack(layers, x):
    for layer in layers:
        x = layer(x)
    return x


def cast_like(x, reference):
    return ops.cast(x, reference.dtype)
