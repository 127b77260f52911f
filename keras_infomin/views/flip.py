"""`RandomHorizontalFlip`: mirror each sample with a probability."""

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.views.base import RandomViewLayer


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
        value_range: range of the incoming images (see `ViewLayer`).
        **kwargs: `keras.layers.Layer` arguments.

    Returns:
        Images of the input's shape.

    Example:

    ```python
    flipped = RandomHorizontalFlip(0.5)(images)  # about half mirrored
    ```
    """

    changes_values = False

    def __init__(self, rate=0.5, seed=None, value_range=None, **kwargs):
        super().__init__(seed=seed, value_range=value_range, **kwargs)
        self.rate = float(check_in_range("rate", rate, 0.0, 1.0))

    def sample_parameters(self, images, seed):
        u = tf.random.stateless_uniform([tf.shape(images)[0]], seed)
        return u < self.rate

    def augment(self, images, flip, training):
        flip = tf.reshape(flip, [-1, 1, 1, 1])
        return tf.where(flip, tf.reverse(images, axis=[2]), images)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate})
        return config
