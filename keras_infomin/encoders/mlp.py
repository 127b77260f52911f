"""Multi-layer perceptron encoder, optionally residual and near identity."""

import keras

from keras_infomin.utils import check_positive
from keras_infomin.utils import register


def _check_units(name, units):
    if isinstance(units, int) and not isinstance(units, bool):
        units = [units]
    try:
        units = [int(u) for u in units]
    except TypeError as err:
        raise TypeError(
            f"`{name}` must be a list of positive integers; received "
            f"{name}={units!r}."
        ) from err
    for u in units:
        check_positive(name, u)
    return units


@register
class MLP(keras.layers.Layer):
    """Stack of `Dense` layers acting on the last axis.

    Each hidden layer computes `z = activation(norm(W h + b))`, with `norm`
    a `LayerNormalization` when `layer_norm=True` and the identity
    otherwise. With `residual=True`, a layer whose input and output widths
    agree adds a shortcut, `h <- h + z`; layers that change the width stay
    plain. The optional output layer is linear, `W h + b` (plus `h` when
    residual and the widths agree).

    With `residual=True` and `residual_init_std=s`, the kernels of the
    residual branches are drawn from `N(0, s^2)` and their biases are zero,
    so each residual layer starts within `O(s)` of the identity map. This is
    the near-identity residual encoder of Tschannen et al. (2020), E3:
    `MLP([392] * 5, residual=True, residual_init_std=1e-4)` on 392-dim
    inputs is the identity up to about 1e-4 at initialisation.

    Args:
        hidden_units: int or list of ints, widths of the hidden layers.
        output_dim: optional int, width of a final linear layer; `None`
            returns the last hidden layer's activations.
        activation: activation of the hidden layers (Keras identifier).
        residual: whether to add shortcuts to same-width layers.
        layer_norm: whether to apply `LayerNormalization` before each
            hidden activation.
        kernel_initializer: initializer of the non-residual kernels.
        bias_initializer: initializer of the non-residual biases.
        residual_init_std: optional float; if set (with `residual=True`),
            the residual branches' kernels draw from `N(0, std^2)` and their
            biases start at zero.
        **kwargs: base `Layer` arguments (`name`, `dtype`, ...).

    Returns:
        A tensor with the input's leading axes and last axis `output_dim`
        (or `hidden_units[-1]`).

    Example:

    >>> encoder = MLP([300, 300], output_dim=100)
    >>> encoder(np.zeros((2, 392), "float32")).shape
    (2, 100)
    """

    def __init__(
        self,
        hidden_units,
        output_dim=None,
        activation="relu",
        residual=False,
        layer_norm=False,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        residual_init_std=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_units = _check_units("hidden_units", hidden_units)
        if output_dim is not None:
            check_positive("output_dim", output_dim)
            output_dim = int(output_dim)
        if not self.hidden_units and output_dim is None:
            raise ValueError(
                "`MLP` needs at least one layer: received hidden_units=[] "
                "and output_dim=None."
            )
        check_positive("residual_init_std", residual_init_std, allow_none=True)
        if residual_init_std is not None and not residual:
            raise ValueError(
                "`residual_init_std` only applies with residual=True; "
                f"received residual_init_std={residual_init_std!r} and "
                "residual=False."
            )
        self.output_dim = output_dim
        self.activation = keras.activations.get(activation)
        self.residual = bool(residual)
        self.layer_norm = bool(layer_norm)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.residual_init_std = residual_init_std
        self._dense = []
        self._norms = []
        self._shortcut = []

    def _make_dense(self, units, residual_branch, name):
        if residual_branch and self.residual_init_std is not None:
            kernel = keras.initializers.RandomNormal(
                stddev=self.residual_init_std
            )
            bias = "zeros"
        else:
            kernel = keras.initializers.get(
                keras.saving.serialize_keras_object(self.kernel_initializer)
            )
            bias = keras.initializers.get(
                keras.saving.serialize_keras_object(self.bias_initializer)
            )
        return keras.layers.Dense(
            units,
            kernel_initializer=kernel,
            bias_initializer=bias,
            dtype=self.dtype_policy,
            name=name,
        )

    def build(self, input_shape):
        width = input_shape[-1]
        if width is None:
            raise ValueError(
                "`MLP` needs a known last axis; received input shape "
                f"{tuple(input_shape)}."
            )
        shape = list(input_shape)
        widths = list(self.hidden_units)
        if self.output_dim is not None:
            widths.append(self.output_dim)
        for i, units in enumerate(widths):
            shortcut = self.residual and units == width
            is_output = self.output_dim is not None and i == len(widths) - 1
            dense = self._make_dense(
                units, shortcut, "output" if is_output else f"dense_{i}"
            )
            dense.build(tuple(shape))
            shape[-1] = units
            norm = None
            if self.layer_norm and not is_output:
                norm = keras.layers.LayerNormalization(
                    dtype=self.dtype_policy, name=f"layer_norm_{i}"
                )
                norm.build(tuple(shape))
            self._dense.append(dense)
            self._norms.append(norm)
            self._shortcut.append(shortcut)
            width = units

    def call(self, inputs):
        h = inputs
        last = len(self._dense) - 1
        for i, (dense, norm) in enumerate(zip(self._dense, self._norms)):
            z = dense(h)
            is_output = self.output_dim is not None and i == last
            if not is_output:
                if norm is not None:
                    z = norm(z)
                z = self.activation(z)
            h = h + z if self._shortcut[i] else z
        return h

    def compute_output_shape(self, input_shape):
        width = self.output_dim or self.hidden_units[-1]
        return tuple(input_shape[:-1]) + (width,)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "hidden_units": list(self.hidden_units),
                "output_dim": self.output_dim,
                "activation": keras.activations.serialize(self.activation),
                "residual": self.residual,
                "layer_norm": self.layer_norm,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "bias_initializer": keras.initializers.serialize(
                    self.bias_initializer
                ),
                "residual_init_std": self.residual_init_std,
            }
        )
        return config
