"""RealNVP: an invertible encoder made of coupling layers on the last axis."""

import math

import keras
import numpy as np
from keras import ops

from keras_infomin.utils import check_positive
from keras_infomin.utils import register

_COUPLINGS = ("additive", "affine")
_PERMUTATIONS = ("random", "reverse")


def _softplus_inverse(value):
    """`r` with `softplus(r) = value`, i.e. `log(exp(value) - 1)`."""
    return math.log(math.expm1(value))


@register
class RealNVP(keras.layers.Layer):
    """Invertible flow of coupling layers acting on the last axis.

    The input's last axis (size `D >= 2`) is transformed; all other axes are
    treated as independent positions. Applied to images `[B, H, W, C]` this
    is a pixel-wise flow on the colour channels: every coupling network is
    a stack of `Dense` layers on the last axis, i.e. 1x1 convolutions.

    Coupling `k` uses a fixed permutation `p_k` of the `D` coordinates and
    splits `z = x[..., p_k]` into a conditioning part `a = z[..., :d_k]`
    and a transformed part `b = z[..., d_k:]`, with `d_k = D // 2` for even
    `k` and `D - D // 2` for odd `k` (for `D = 3`: 1|2, then 2|1). A
    network `NN_k(a)` gives a shift `t` and, for affine couplings, a raw
    scale `r`:

        additive:  b' = b + t                       log|det J| = 0
        affine:    s  = eps + softplus(r + c)
                   b' = b * s + t                   log|det J| = sum log s

    with `eps = scale_epsilon` (1e-7, as in Tschannen et al. 2020, E2) and
    the constant `c = log(exp(1 - eps) - 1)`, chosen so that `r = 0` gives
    `s = 1` exactly: with the last layer of every `NN_k` initialised from
    `N(0, init_std^2)` and zero bias, `t ~ 0` and `r ~ 0`, so the whole flow
    starts near the identity. The output is `concat(a, b')` put back in the
    original coordinate order, so the identity is reachable at every depth
    (no residual permutation is left on the output).

    The permutations come from `numpy.random.default_rng(seed)` (stored in
    the config: a saved model rebuilds the same flow); `seed=None` draws one
    from NumPy's global generator at construction.

    Args:
        num_couplings: number of coupling layers (30 in Tschannen et al.).
        hidden_units: widths of the coupling networks' hidden layers
            ([512, 512] in Tschannen et al.).
        coupling: `"additive"` (shift only, volume preserving) or
            `"affine"` (scale and shift).
        activation: activation of the coupling networks' hidden layers.
        init_std: standard deviation of the last layer's kernel of every
            coupling network (1e-4 in Tschannen et al.: near identity).
        scale_epsilon: lower bound `eps` of the affine scale.
        permutation: `"random"` (a fresh random permutation per coupling)
            or `"reverse"` (the identity and the reversal alternating).
        seed: int seed of the permutations, or `None`.
        **kwargs: base `Layer` arguments.

    Returns:
        `call` returns `y = f(x)` with the input's shape.

    Example:

    >>> flow = RealNVP(num_couplings=4, hidden_units=[16], coupling="affine")
    >>> x = np.random.normal(size=(2, 8, 8, 3)).astype("float32")
    >>> y, log_det = flow.forward_and_log_det(x)   # log_det: shape (2,)
    >>> np.allclose(flow.inverse(y), x, atol=1e-4)
    True
    """

    def __init__(
        self,
        num_couplings=30,
        hidden_units=(512, 512),
        coupling="additive",
        activation="relu",
        init_std=1e-4,
        scale_epsilon=1e-7,
        permutation="random",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_couplings = int(check_positive("num_couplings", num_couplings))
        self.hidden_units = [
            int(check_positive("hidden_units", u)) for u in hidden_units
        ]
        if coupling not in _COUPLINGS:
            raise ValueError(
                f"`coupling` must be one of {_COUPLINGS}; received "
                f"coupling={coupling!r}."
            )
        if permutation not in _PERMUTATIONS:
            raise ValueError(
                f"`permutation` must be one of {_PERMUTATIONS}; received "
                f"permutation={permutation!r}."
            )
        self.coupling = coupling
        self.activation = keras.activations.get(activation)
        self.init_std = check_positive("init_std", init_std)
        self.scale_epsilon = check_positive("scale_epsilon", scale_epsilon)
        if self.scale_epsilon >= 1:
            raise ValueError(
                "`scale_epsilon` must be < 1 so that a unit scale is "
                f"reachable; received scale_epsilon={scale_epsilon!r}."
            )
        self.permutation = permutation
        if seed is None:
            seed = int(np.random.randint(0, 2**31 - 1))
        self.seed = int(seed)
        self._scale_offset = _softplus_inverse(1.0 - self.scale_epsilon)
        self._nets = []
        self._splits = []
        self._perms = []
        self._inverse_perms = []

    def _make_permutations(self, dim):
        rng = np.random.default_rng(self.seed)
        perms = []
        for k in range(self.num_couplings):
            if self.permutation == "random":
                perm = rng.permutation(dim)
            elif k % 2 == 0:
                perm = np.arange(dim)
            else:
                perm = np.arange(dim)[::-1]
            perms.append(perm.astype("int32"))
        return perms

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None or dim < 2:
            raise ValueError(
                "`RealNVP` transforms the last axis, which must have a known "
                f"size >= 2; received input shape {tuple(input_shape)}."
            )
        self.dim = int(dim)
        perms = self._make_permutations(self.dim)
        self._perms = tuple(perms)
        self._inverse_perms = tuple(
            np.argsort(p).astype("int32") for p in perms
        )
        splits = []
        for k in range(self.num_couplings):
            d_cond = self.dim // 2 if k % 2 == 0 else self.dim - self.dim // 2
            d_trans = self.dim - d_cond
            splits.append((d_cond, d_trans))
            out = d_trans if self.coupling == "additive" else 2 * d_trans
            layers = []
            shape = tuple(input_shape[:-1]) + (d_cond,)
            for j, units in enumerate(self.hidden_units):
                dense = keras.layers.Dense(
                    units,
                    activation=self.activation,
                    dtype=self.dtype_policy,
                    name=f"coupling_{k}_dense_{j}",
                )
                dense.build(shape)
                shape = shape[:-1] + (units,)
                layers.append(dense)
            last = keras.layers.Dense(
                out,
                kernel_initializer=keras.initializers.RandomNormal(
                    stddev=self.init_std
                ),
                bias_initializer="zeros",
                dtype=self.dtype_policy,
                name=f"coupling_{k}_output",
            )
            last.build(shape)
            layers.append(last)
            self._nets.append(layers)
        self._splits = tuple(splits)

    def _shift_and_log_scale(self, k, cond):
        h = cond
        for layer in self._nets[k]:
            h = layer(h)
        d_trans = self._splits[k][1]
        if self.coupling == "additive":
            return h, None, None
        shift = h[..., :d_trans]
        raw = h[..., d_trans:]
        scale = self.scale_epsilon + ops.softplus(raw + self._scale_offset)
        return shift, scale, ops.log(scale)

    def _split(self, k, x):
        z = ops.take(x, self._perms[k], axis=-1)
        d_cond = self._splits[k][0]
        return z[..., :d_cond], z[..., d_cond:]

    def _merge(self, k, a, b):
        z = ops.concatenate([a, b], axis=-1)
        return ops.take(z, self._inverse_perms[k], axis=-1)

    def forward_and_log_det(self, inputs):
        """Applies the flow and returns `(y, log|det dy/dx|)`.

        Args:
            inputs: float tensor `[batch, ..., D]`.

        Returns:
            `y` with the input's shape and the per-example log-determinant,
            shape `[batch]`, summed over all positions (all non-batch axes
            other than the last one included). Exactly zero for additive
            couplings.
        """
        x = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        if not self.built:
            self.build(x.shape)
        axes = tuple(range(1, len(x.shape)))
        log_det = ops.zeros(ops.shape(x)[:1], dtype=x.dtype)
        for k in range(self.num_couplings):
            a, b = self._split(k, x)
            shift, scale, log_scale = self._shift_and_log_scale(k, a)
            if scale is None:
                b = b + shift
            else:
                b = b * scale + shift
                log_det = log_det + ops.sum(log_scale, axis=axes)
            x = self._merge(k, a, b)
        return x, log_det

    def call(self, inputs):
        return self.forward_and_log_det(inputs)[0]

    def inverse(self, outputs):
        """Exact inverse: returns `x` with `f(x) = outputs`.

        Args:
            outputs: float tensor `[batch, ..., D]`.

        Returns:
            The tensor `x`, same shape.
        """
        y = ops.convert_to_tensor(outputs, dtype=self.compute_dtype)
        if not self.built:
            self.build(y.shape)
        for k in reversed(range(self.num_couplings)):
            a, b = self._split(k, y)
            shift, scale, _ = self._shift_and_log_scale(k, a)
            b = b - shift
            if scale is not None:
                b = b / scale
            y = self._merge(k, a, b)
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_couplings": self.num_couplings,
                "hidden_units": list(self.hidden_units),
                "coupling": self.coupling,
                "activation": keras.activations.serialize(self.activation),
                "init_std": self.init_std,
                "scale_epsilon": self.scale_epsilon,
                "permutation": self.permutation,
                "seed": self.seed,
            }
        )
        return config
