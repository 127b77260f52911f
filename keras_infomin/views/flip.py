"""`RandomHorizontalFlip`: mirror each sample with a probability."""

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import check_shape
from keras_infomin.views.base import restore_rank
from keras_infomin.views.base import standardize_images


@register
class RandomHorizontalFlip(RandomViewLayer):
    """Mirrors each sample left-right with probability `rate`.

    Same semantics as `keras.layers.RandomFlip("horizontal")` (per-sample
    coins, checked on batched input) and torchvision's
    `RandomHorizontalFlip(p)`, with the seed folded with the replica id
    (Keras' layer draws the same flips on every replica of a
    `MirroredStrategy`).

    In inference (`training=False`) the input is returned unchanged.

    Args:
        rate: probability in [0, 1].
        seed: optional int.
        **kwargs: `keras.layers.Layer` arguments.

    Returns:
        Images of the input's shape.

    Example:

    ```python
    flipped = RandomHorizontalFlip(0.5)(images)  # about half mirrored
    ```
    """

    def __init__(self, rate=0.5, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        self.rate = float(check_in_range("rate", rate, 0.0, 1.0))

    def build(self, input_shape):
        check_shape("images", input_shape)
        self.built = True

    def call(self, images, training=True):
        if not training or self.rate == 0.0:
            return images
        images, unbatched = standardize_images(images)
        u = tf.random.stateless_uniform([tf.shape(images)[0]], self.draw_seed())
        flip = tf.reshape(u < self.rate, [-1, 1, 1, 1])
        out = tf.where(flip, tf.reverse(images, axis=[2]), images)
        return restore_rank(out, unbatched)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate})
        return config
