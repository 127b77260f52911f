"""Small convolutional encoder of Tschannen et al. (2020)."""

import math

import keras
from keras import ops

from keras_infomin.utils import check_positive
from keras_infomin.utils import register


@register
class ConvNet(keras.layers.Layer):
    """Convolutions, layer norm, global average pooling and a dense output.

    The default sizes are the ConvNet of Tschannen et al. (2020), E5:

        reshape to `image_shape` (flat inputs only)
        Conv2D(64, 5x5, stride 2) -> ReLU
        Conv2D(128, 5x5, stride 2) -> ReLU
        LayerNormalization (over the channel axis)
        GlobalAveragePooling2D
        Dense(100)                 (linear)

    Args:
        filters: list of ints, filters of the successive convolutions.
        kernel_size: int, square kernel size of every convolution.
        strides: int, stride of every convolution.
        output_dim: int or `None`; width of the final linear `Dense` layer
            (`None` returns the pooled features).
        activation: activation after every convolution.
        layer_norm: whether to apply `LayerNormalization` before pooling.
        padding: `"same"` or `"valid"`.
        image_shape: optional `(height, width, channels)`; inputs of rank 2
            (flat vectors, e.g. MNIST half images of 392 pixels) are
            reshaped to it first. Must be given for flat inputs.
        **kwargs: base `Layer` arguments.

    Returns:
        A `[batch, output_dim]` tensor.

    Example:

    >>> encoder = ConvNet(image_shape=(14, 28, 1))
    >>> encoder(np.zeros((2, 392), "float32")).shape
    (2, 100)
    """

    def __init__(
        self,
        filters=(64, 128),
        kernel_size=5,
        strides=2,
        output_dim=100,
        activation="relu",
        layer_norm=True,
        padding="same",
        image_shape=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = [int(check_positive("filters", f)) for f in filters]
        if not self.filters:
            raise ValueError("`filters` must name at least one convolution.")
        self.kernel_size = int(check_positive("kernel_size", kernel_size))
        self.strides = int(check_positive("strides", strides))
        if output_dim is not None:
            output_dim = int(check_positive("output_dim", output_dim))
        self.output_dim = output_dim
        self.activation = keras.activations.get(activation)
        self.layer_norm = bool(layer_norm)
        if padding not in ("same", "valid"):
            raise ValueError(
                f"`padding` must be 'same' or 'valid'; received {padding!r}."
            )
        self.padding = padding
        if image_shape is not None:
            image_shape = tuple(int(s) for s in image_shape)
            if len(image_shape) != 3:
                raise ValueError(
                    "`image_shape` must be (height, width, channels); "
                    f"received image_shape={image_shape!r}."
                )
        self.image_shape = image_shape
        self._convs = [
            keras.layers.Conv2D(
                f,
                self.kernel_size,
                strides=self.strides,
                padding=self.padding,
                dtype=self.dtype_policy,
                name=f"conv_{i}",
            )
            for i, f in enumerate(self.filters)
        ]
        self._norm = (
            keras.layers.LayerNormalization(
                dtype=self.dtype_policy, name="layer_norm"
            )
            if self.layer_norm
            else None
        )
        self._pool = keras.layers.GlobalAveragePooling2D(
            dtype=self.dtype_policy
        )
        self._out = (
            keras.layers.Dense(
                output_dim, dtype=self.dtype_policy, name="output"
            )
            if output_dim is not None
            else None
        )

    def _image_input_shape(self, input_shape):
        input_shape = tuple(input_shape)
        if len(input_shape) == 4:
            return input_shape
        if len(input_shape) == 2:
            if self.image_shape is None:
                raise ValueError(
                    "`ConvNet` received flat inputs of shape "
                    f"{input_shape}; pass image_shape=(height, width, "
                    "channels) to reshape them."
                )
            size = math.prod(self.image_shape)
            if input_shape[1] is not None and input_shape[1] != size:
                raise ValueError(
                    f"`image_shape`={self.image_shape} holds {size} values "
                    f"but the inputs have {input_shape[1]} features."
                )
            return (input_shape[0],) + self.image_shape
        raise ValueError(
            "`ConvNet` expects [batch, features] or [batch, height, width, "
            f"channels] inputs; received shape {input_shape}."
        )

    def build(self, input_shape):
        shape = self._image_input_shape(input_shape)
        for conv in self._convs:
            conv.build(shape)
            shape = conv.compute_output_shape(shape)
        if self._norm is not None:
            self._norm.build(shape)
        if self._out is not None:
            self._out.build((shape[0], shape[-1]))

    def call(self, inputs):
        x = inputs
        if len(x.shape) == 2:
            x = ops.reshape(x, (-1,) + self.image_shape)
        for conv in self._convs:
            x = self.activation(conv(x))
        if self._norm is not None:
            x = self._norm(x)
        x = self._pool(x)
        if self._out is not None:
            x = self._out(x)
        return x

    def compute_output_shape(self, input_shape):
        width = self.output_dim or self.filters[-1]
        return (input_shape[0], width)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": list(self.filters),
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "output_dim": self.output_dim,
                "activation": keras.activations.serialize(self.activation),
                "layer_norm": self.layer_norm,
                "padding": self.padding,
                "image_shape": (
                    list(self.image_shape) if self.image_shape else None
                ),
            }
        )
        return config
