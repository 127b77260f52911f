"""`RandomGrayscale`: turn each sample grey with a probability."""

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.views import image_ops
from keras_infomin.views.base import RandomViewLayer


@register
class RandomGrayscale(RandomViewLayer):
    """Replaces each sample by its luma with probability `rate`.

    The luma `0.299 R + 0.587 G + 0.114 B` is repeated over the three
    channels (torchvision's `RandomGrayscale(p)`). Same semantics as
    `keras.layers.RandomGrayscale(factor=rate)` (per-sample coins, checked
    on batched input), with the seed folded with the replica id.
    Single-channel images are grey already and pass unchanged.

    In inference (`training=False`) the input is returned unchanged.

    Args:
        rate: probability in [0, 1].
        seed: optional int.
        value_range: range of the incoming images (see `ViewLayer`).
        **kwargs: `keras.layers.Layer` arguments.

    Input shape:
        `[B, H, W, 3]` or `[H, W, 3]` (or 1 channel: unchanged).

    Returns:
        Images of the input's shape.

    Example:

    ```python
    views = RandomGrayscale(0.2)(images)  # about one in five grey
    ```
    """

    supported_channels = (1, 3)

    def __init__(self, rate=0.2, seed=None, value_range=None, **kwargs):
        super().__init__(seed=seed, value_range=value_range, **kwargs)
        self.rate = float(check_in_range("rate", rate, 0.0, 1.0))

    def sample_parameters(self, images, seed):
        u = tf.random.stateless_uniform([tf.shape(images)[0]], seed)
        return u < self.rate

    def augment(self, images, gray, training):
        if images.shape[-1] == 1:
            return images
        gray = tf.reshape(gray, [-1, 1, 1, 1])
        return tf.where(gray, image_ops.to_grayscale(images), images)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate})
        return config
