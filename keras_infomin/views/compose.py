"""`Compose`: a chain of view transforms applied in order."""

import keras

from keras_infomin.utils import register
from keras_infomin.views.base import call_transform
from keras_infomin.views.base import deserialize
from keras_infomin.views.base import maybe_build
from keras_infomin.views.base import serialize


@register
class Compose(keras.layers.Layer):
    """Applies `layers` one after the other, passing `training` along.

    Like torchvision's `Compose` (or `keras.layers.Pipeline`), but every
    layer receives the caller's `training` flag, so a recipe turns into its
    inference form as a whole. The recipes `SimCLRAugment`,
    `MoCoV2Augment` and `InfoMinAugment` are `Compose` subclasses.

    Args:
        layers: list of layers or callables.
        **kwargs: `keras.layers.Layer` arguments.

    Example:

    ```python
    recipe = Compose([RandomResizedCrop(32, 32), RandomHorizontalFlip()])
    ```
    """

    def __init__(self, layers, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(layers, (list, tuple)):
            raise TypeError(
                f"`layers` must be a list of transforms; received {layers!r}."
            )
        for layer in layers:
            if not callable(layer):
                raise TypeError(
                    "Every entry of `layers` must be a Keras layer or a "
                    f"callable; received {layer!r}."
                )
        self.transforms = list(layers)
        self.supports_jit = False

    def build(self, input_shape):
        shape = input_shape
        for t in self.transforms:
            maybe_build(t, shape)
            if hasattr(t, "compute_output_shape"):
                shape = t.compute_output_shape(shape)
        self.built = True

    def call(self, inputs, training=True):
        x = inputs
        for t in self.transforms:
            x = call_transform(t, x, training)
        return x

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for t in self.transforms:
            if hasattr(t, "compute_output_shape"):
                shape = t.compute_output_shape(shape)
        return shape

    def get_config(self):
        config = super().get_config()
        config.update({"layers": serialize(self.transforms)})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layers"] = deserialize(config["layers"])
        return cls(**config)
