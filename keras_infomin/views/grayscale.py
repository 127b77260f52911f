"""`RandomGrayscale`: turn each sample grey with a probability."""

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.views import image_ops
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import check_shape
from keras_infomin.views.base import restore_rank
from keras_infomin.views.base import standardize_images


@register
class RandomGrayscale(RandomViewLayer):
    """Replaces each sample by its luma with probability `rate`.

    The luma `0.299 R + 0.587 G + 0.114 B` is repeated over the three
    channels (torchvision's `RandomGrayscale(p)`). Same semantics as
    `keras.layers.RandomGrayscale(factor=rate)` (per-sample coins, checked
    on batched input), with the seed folded with the replica id.

    In inference (`training=False`) the input is returned unchanged.

    Args:
        rate: probability in [0, 1].
        seed: optional int.
        **kwargs: `keras.layers.Layer` arguments.

    Input shape:
        `[B, H, W, 3]` or `[H, W, 3]`.

    Returns:
        Images of the input's shape.

    Example:

    ```python
    views = RandomGrayscale(0.2)(images)  # about one in five grey
    ```
    """

    def __init__(self, rate=0.2, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = float(check_in_range("rate", rate, 0.0, 1.0))

    def build(self, input_shape):
        check_shape("images", input_shape, channels=3)
        self.built = True

    def call(self, images, training=True):
        if not training or self.rate == 0.0:
            return images
        images, unbatched = standardize_images(images, channels=3)
        u = tf.random.stateless_uniform([tf.shape(images)[0]], self.draw_seed())
        gray = tf.reshape(u < self.rate, [-1, 1, 1, 1])
        out = tf.where(gray, image_ops.to_grayscale(images), images)
        return restore_rank(out, unbatched)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate})
        return config
