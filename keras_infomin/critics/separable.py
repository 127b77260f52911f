"""Separable critic: two MLP towers and a dot product."""

import warnings

import keras
from keras import ops

from keras_infomin.critics.base import Critic
from keras_infomin.critics.base import apply_stack
from keras_infomin.critics.base import dense_stack
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_positive


@register
class Separable(Critic):
    """`f(x, y) = g(x)^T h(y)` with MLP towers `g` and `h`.

    The default follows Tschannen et al. (2020): one hidden layer of 100
    units, 100-d embeddings. The Gaussian-benchmark setting of Poole et al.
    is `hidden_units=(256, 256), output_dim=32`. All `N x M` scores cost
    `N + M` tower evaluations and one matrix product.

    Args:
        hidden_units: widths of the hidden layers of each tower.
        output_dim: output size of each tower (the name the heads and
            encoders use; `embedding_dim` is its deprecated alias).
        activation: hidden activation.
        shared: use one tower for both `x` and `y` (needs equal input sizes).
        kernel_initializer: initialiser of the Dense kernels.

    Example:

    >>> import numpy as np
    >>> critic = Separable(hidden_units=(16,), output_dim=8)
    >>> critic(np.ones((4, 3), "float32"), np.ones((4, 5), "float32")).shape
    TensorShape([4, 4])
    """

    def __init__(
        self,
        hidden_units=(100,),
        output_dim=100,
        activation="relu",
        shared=False,
        kernel_initializer="glorot_uniform",
        embedding_dim=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if embedding_dim is not None:
            warnings.warn(
                "Separable(embedding_dim=...) is deprecated; use output_dim "
                "(the name ProjectionHead and the encoders use).",
                DeprecationWarning,
                stacklevel=2,
            )
            output_dim = embedding_dim
        self.hidden_units = tuple(
            check_positive("hidden_units", int(u)) for u in hidden_units
        )
        self.output_dim = check_positive("output_dim", output_dim)
        self.activation = activation
        self.shared = bool(shared)
        self.kernel_initializer = kernel_initializer
        units = self.hidden_units + (self.output_dim,)
        self.x_tower = dense_stack(
            units, activation, "x_tower", kernel_initializer
        )
        self.y_tower = (
            self.x_tower
            if self.shared
            else dense_stack(units, activation, "y_tower", kernel_initializer)
        )

    @property
    def embedding_dim(self):
        """Deprecated alias of `output_dim`."""
        return self.output_dim

    def build(self, x_shape, y_shape):
        if self.shared and x_shape[-1] != y_shape[-1]:
            raise ValueError(
                "Separable(shared=True) needs x and y of the same size; "
                f"received {tuple(x_shape)} and {tuple(y_shape)}."
            )
        for tower, shape in ((self.x_tower, x_shape), (self.y_tower, y_shape)):
            for layer in tower:
                if not layer.built:
                    layer.build(shape)
                shape = layer.compute_output_shape(shape)

    def embed_x(self, x):
        return apply_stack(self.x_tower, x)

    def embed_y(self, y):
        return apply_stack(self.y_tower, y)

    def score(self, x, y):
        return ops.matmul(self.embed_x(x), ops.transpose(self.embed_y(y)))

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_units=list(self.hidden_units),
            output_dim=self.output_dim,
            activation=keras.activations.serialize(
                keras.activations.get(self.activation)
            ),
            shared=self.shared,
            kernel_initializer=keras.initializers.serialize(
                keras.initializers.get(self.kernel_initializer)
            ),
        )
        return config
