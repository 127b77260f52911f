"""`RandomApply`: apply a transform to each sample with a probability."""

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import apply_transform
from keras_infomin.views.base import as_transform
from keras_infomin.views.base import switch_per_sample


@register
class RandomApply(RandomViewLayer):
    """Applies `layer` to each sample independently with probability `rate`.

    torchvision's `RandomApply([t], p)` draws one coin per image; here the
    coins are drawn for the whole batch at once (`u_i ~ U[0, 1)`, sample
    `i` transformed iff `u_i < rate`) and only the selected samples go
    through `layer` (see `switch_per_sample`), so a rarely applied costly
    transform costs little, and `layer` never sees an empty batch. Keras 3
    has no such layer: its `RandomGaussianBlur(factor=...)` and
    `RandomGrayscale(factor=...)` mix a probability into one layer,
    `RandomColorJitter` has none.

    `layer` must keep the shape of its input; it may be any Keras layer
    (this package's, Keras' own, a keras-cv augmentation layer) or a plain
    callable on a batch, called with `training=True` on the selected
    samples (other than this package's layers, it receives them in
    `value_range`).

    In inference (`training=False`) the input is returned unchanged.

    Args:
        layer: the transform.
        rate: probability in [0, 1].
        seed: optional int.
        value_range: range of the incoming images (see `ViewLayer`);
            default: `layer`'s.
        **kwargs: `keras.layers.Layer` arguments.

    Example:

    ```python
    jitter = RandomApply(ColorJitter(0.4, 0.4, 0.4, 0.1), rate=0.8)
    ```
    """

    changes_values = False

    nested = {"layer": "layer"}

    def __init__(self, layer, rate=0.5, seed=None, value_range=None, **kwargs):
        super().__init__(seed=seed, value_range=value_range, **kwargs)
        self.layer = as_transform("layer", layer)
        self.rate = float(check_in_range("rate", rate, 0.0, 1.0))
        self.resolve_value_range()

    def sample_parameters(self, images, seed):
        u = tf.random.stateless_uniform([tf.shape(images)[0]], seed)
        return tf.cast(u < self.rate, tf.int32)

    def augment(self, images, selected, training):
        value_range = self.resolve_value_range()

        def run(x):
            return apply_transform(self.layer, x, True, value_range)

        if self.rate == 0.0:
            return images
        if self.rate == 1.0:
            return run(images)
        out = switch_per_sample(selected, images, [None, run])
        return tf.ensure_shape(out, images.shape)

    def get_config(self):
        config = super().get_config()
        config.update({"rate": self.rate})
        return config
