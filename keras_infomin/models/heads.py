"""Projection heads placed between an encoder and the contrastive loss."""

import keras

from keras_infomin.utils import register
from keras_infomin.utils.validation import check_positive


@register
class ProjectionHead(keras.layers.Layer):
    """MLP head: `[Dense -> (BatchNorm) -> ReLU] x k -> Dense(output_dim)`.

    SimCLR and MoCo v2 contrast the head's output and keep the encoder's
    output as the representation (MoCo v2 / InfoMin: 2048-2048-128 on
    ResNet-50; a 512-128 head suits CIFAR-sized encoders).

    Args:
        hidden_units: widths of the hidden layers.
        output_dim: size of the projected embedding.
        batch_norm: batch normalisation after each hidden Dense.
        synchronized_bn: synchronise batch statistics across replicas.
        activation: hidden activation.

    Example:

    >>> head = ProjectionHead(hidden_units=(64,), output_dim=16)
    >>> head(keras.ops.ones((4, 32))).shape
    (4, 16)
    """

    def __init__(
        self,
        hidden_units=(2048,),
        output_dim=128,
        batch_norm=False,
        synchronized_bn=False,
        activation="relu",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.hidden_units = tuple(
            check_positive("hidden_units", int(u)) for u in hidden_units
        )
        self.output_dim = check_positive("output_dim", output_dim)
        self.batch_norm = bool(batch_norm)
        self.synchronized_bn = bool(synchronized_bn)
        self.activation = activation
        self.blocks = []
        for i, units in enumerate(self.hidden_units):
            block = [keras.layers.Dense(units, use_bias=not batch_norm)]
            if batch_norm:
                block.append(
                    keras.layers.BatchNormalization(
                        synchronized=synchronized_bn, name=f"bn_{i}"
                    )
                )
            block.append(keras.layers.Activation(activation))
            self.blocks.append(block)
        self.output_layer = keras.layers.Dense(output_dim, name="output")

    def build(self, input_shape):
        shape = input_shape
        for block in self.blocks:
            for layer in block:
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
        self.output_layer.build(shape)

    def call(self, x, training=False):
        for block in self.blocks:
            for layer in block:
                x = layer(x, training=training)
        return self.output_layer(x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.output_dim,)

    def get_config(self):
        config = super().get_config()
        config.update(
            hidden_units=list(self.hidden_units),
            output_dim=self.output_dim,
            batch_norm=self.batch_norm,
            synchronized_bn=self.synchronized_bn,
            activation=self.activation,
        )
        return config
