"""A variational Gaussian conditional `q(y | x)`, for the MI upper bounds."""

import math

import keras
from keras import ops

from keras_infomin.critics.base import Critic
from keras_infomin.critics.base import apply_stack
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_positive

_LOW_PRECISION = ("float16", "bfloat16")


@register
class GaussianConditional(Critic):
    r"""`q(y | x) = N(y; mu(x), diag sigma^2(x))`, scored on every pair.

    `call(x, y)` returns the `[N, M]` matrix of log densities

        L[i, j] = log q(y_j | x_i)
                = -1/2 sum_d [(y_jd - mu_id)^2 / sigma_id^2
                              + log sigma_id^2 + log 2 pi]

    with the joint pairs on the diagonal, the matrix that `bounds.club`,
    `bounds.l1out` and `bounds.conditional_log_likelihood` read. `mu` and
    `sigma^2` share an MLP trunk (`hidden_units`, none for a linear-Gaussian
    conditional) with two linear heads; `sigma^2 = softplus(.) +
    min_variance`, so every log density is at most
    `-d/2 log(2 pi min_variance)`. All pairs cost three `[N, d] x [d, M]`
    matrix products (the square is expanded), so the entries lose about
    `eps * (y / sigma)^2` to rounding when `sigma` is far below the scale
    of `y`; standardise `y` first. Under a mixed-precision policy the
    trunk runs in the compute dtype and the log densities in float32.

    Fit it by maximising `bounds.conditional_log_likelihood` (the mean of
    the diagonal); the MI upper bounds then read the whole matrix. This is
    the conditional of CLUB (Cheng et al. 2020).

    Args:
        hidden_units: widths of the trunk's hidden layers (may be empty).
        activation: hidden activation.
        min_variance: floor added to every variance, > 0.
        kernel_initializer: initialiser of the Dense kernels.

    Example:

    >>> import numpy as np
    >>> q = GaussianConditional(hidden_units=(16,))
    >>> q(np.ones((4, 3), "float32"), np.ones((6, 2), "float32")).shape
    TensorShape([4, 6])
    """

    def __init__(
        self,
        hidden_units=(64,),
        activation="relu",
        min_variance=1e-4,
        kernel_initializer="glorot_uniform",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_units = tuple(
            check_positive("hidden_units", int(u)) for u in hidden_units
        )
        self.activation = activation
        self.min_variance = check_positive("min_variance", min_variance)
        self.kernel_initializer = kernel_initializer
        self.trunk = [
            keras.layers.Dense(
                width,
                activation=activation,
                kernel_initializer=kernel_initializer,
                name=f"trunk_{i}",
            )
            for i, width in enumerate(self.hidden_units)
        ]

    def build(self, x_shape, y_shape):
        dim_y = y_shape[-1]
        if dim_y is None:
            raise ValueError(
                "GaussianConditional needs a known size of y; received "
                f"{tuple(y_shape)}."
            )
        shape = x_shape
        for layer in self.trunk:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.mean_head = keras.layers.Dense(
            dim_y, kernel_initializer=self.kernel_initializer, name="mean"
        )
        self.variance_head = keras.layers.Dense(
            dim_y, kernel_initializer=self.kernel_initializer, name="variance"
        )
        self.mean_head.build(shape)
        self.variance_head.build(shape)

    def mean_and_variance(self, x):
        """`(mu(x), sigma^2(x))`, each `[N, dy]`."""
        if not self.built:
            raise ValueError(
                f"{self.name}: call the layer on (x, y) once before "
                "`mean_and_variance`; the size of y sets its output heads."
            )
        hidden = apply_stack(self.trunk, x)
        variance = ops.softplus(self.variance_head(hidden)) + self.min_variance
        return self.mean_head(hidden), variance

    def score(self, x, y):
        mean, variance = self.mean_and_variance(x)
        # Squares of y / sigma overflow float16: the log densities are
        # formed in float32 (or wider) whatever the compute dtype.
        if keras.backend.standardize_dtype(mean.dtype) in _LOW_PRECISION:
            mean = ops.cast(mean, "float32")
            variance = ops.cast(variance, "float32")
        y = ops.cast(y, mean.dtype)
        precision = 1.0 / variance
        # sum_d (y_jd - mu_id)^2 / var_id, expanded into matrix products.
        quadratic = (
            ops.matmul(precision, ops.transpose(ops.square(y)))
            - 2.0 * ops.matmul(mean * precision, ops.transpose(y))
            + ops.sum(ops.square(mean) * precision, axis=1, keepdims=True)
        )
        log_norm = ops.sum(ops.log(variance), axis=1, keepdims=True) + ops.cast(
            ops.shape(y)[1], mean.dtype
        ) * math.log(2.0 * math.pi)
        return -0.5 * (quadratic + log_norm)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_units=list(self.hidden_units),
            activation=keras.activations.serialize(
                keras.activations.get(self.activation)
            ),
            min_variance=self.min_variance,
            kernel_initializer=keras.initializers.serialize(
                keras.initializers.get(self.kernel_initializer)
            ),
        )
        return config
