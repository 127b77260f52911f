"""`RandomApply`: apply a transform to each sample with a probability."""

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import call_transform
from keras_infomin.views.base import deserialize
from keras_infomin.views.base import maybe_build
from keras_infomin.views.base import restore_rank
from keras_infomin.views.base import serialize
from keras_infomin.views.base import standardize_images
from keras_infomin.views.base import switch_per_sample


@register
class RandomApply(RandomViewLayer):
    """Applies `layer` to each sample independently with probability `rate`.

    torchvision's `RandomApply([t], p)` draws one coin per image; here the
    coins are drawn for the whole batch at once (`u_i ~ U[0, 1)`, sample
    `i` transformed iff `u_i < rate`) and only the selected samples go
    through `layer` (see `switch_per_sample`), so a rarely applied costly
    transform costs little. Keras 3 has no such layer: its
    `RandomGaussianBlur(factor=...)` and `RandomGrayscale(factor=...)` mix a
    probability into one layer, `RandomColorJitter` has none.

    `layer` must keep the shape of its input; it may be any Keras layer
    (this package's, Keras' own, a keras-cv augmentation layer) or a plain
    callable on a batch. It is called with `training=True` on the selected
    sub-batch, whose size can be zero.

    In inference (`training=False`) the input is returned unchanged.

    Args:
        layer: the transform.
        rate: probability in [0, 1].
        seed: optional int.
        **kwargs: `keras.layers.Layer` arguments.

    Example:

    ```python
    jitter = RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), rate=0.8)
    ```
    """

    def __init__(self, layer, rate=0.5, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not callable(layer):
            raise TypeError(
                "`layer` must be a Keras layer or a callable; received "
                f"layer={layer!r}."
            )
        self.layer = layer
        self.rate = float(check_in_range("rate", rate, 0.0, 1.0))

    def build(self, input_shape):
        maybe_build(self.layer, input_shape)
        self.built = True

    def call(self, inputs, training=True):
        if not training or self.rate == 0.0:
            return inputs
        if self.rate == 1.0:
            return call_transform(self.layer, inputs, True)
        images, unbatched = standardize_images(inputs)
        u = tf.random.stateless_uniform([tf.shape(images)[0]], self.draw_seed())
        index = tf.cast(u < self.rate, tf.int32)
        out = switch_per_sample(
            index,
            images,
            [None, lambda x: call_transform(self.layer, x, True)],
        )
        out = tf.ensure_shape(out, images.shape)
        return restore_rank(out, unbatched)

    def get_config(self):
        config = super().get_config()
        config.update({"layer": serialize(self.layer), "rate": self.rate})
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = deserialize(config["layer"])
        return cls(**config)
