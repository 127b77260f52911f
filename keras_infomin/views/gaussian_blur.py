"""`GaussianBlur`: Gaussian blur with a random sigma per sample."""

import math

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.views import image_ops
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import check_range_pair


@register
class GaussianBlur(RandomViewLayer):
    """Blurs every sample with its own `sigma ~ U(sigma_range)` (pixels).

    The kernel `w_k = exp(-k^2 / (2 sigma^2)) / sum`, `k = -r .. r`, is
    applied separably with reflect padding, as in the SimCLR and InfoMin
    recipes (sigma in [0.1, 2], kernel about a tenth of the image side, e.g.
    23 at 224 pixels). All samples are filtered by one depthwise
    convolution (see `image_ops.depthwise_filter`).

    Always applied; use `RandomApply(GaussianBlur(...), rate=0.5)` for
    "blur with probability 0.5".

    Differences from `keras.layers.RandomGaussianBlur` (Keras 3.15): there
    `factor` sets the blur *probability* range per sample and a single
    `sigma` is drawn for the whole batch (checked on batched input); here
    sigma is per sample and the probability lives in `RandomApply`.

    In inference (`training=False`) the input is returned unchanged.

    Args:
        sigma: `(min, max)` standard deviation in pixels, min > 0.
        kernel_size: odd int; default `2 ceil(3 max_sigma) + 1`. The radius
            is capped at `min(H, W) - 1` when the image size is known.
        seed: optional int.
        value_range: range of the incoming images (see `ViewLayer`).
        **kwargs: `keras.layers.Layer` arguments.

    Example:

    ```python
    blur = RandomApply(GaussianBlur((0.1, 2.0), kernel_size=23), rate=0.5)
    ```
    """

    def __init__(
        self,
        sigma=(0.1, 2.0),
        kernel_size=None,
        seed=None,
        value_range=None,
        **kwargs,
    ):
        super().__init__(seed=seed, value_range=value_range, **kwargs)
        self.sigma = check_range_pair("sigma", sigma, 0.0, float("inf"))
        if self.sigma[0] <= 0:
            raise ValueError(
                f"`sigma` must be positive; received sigma={sigma!r}."
            )
        if kernel_size is None:
            kernel_size = 2 * math.ceil(3 * self.sigma[1]) + 1
        if (
            not isinstance(kernel_size, int)
            or isinstance(kernel_size, bool)
            or kernel_size < 1
            or kernel_size % 2 == 0
        ):
            raise ValueError(
                "`kernel_size` must be a positive odd int; received "
                f"kernel_size={kernel_size!r}."
            )
        self.kernel_size = kernel_size

    def sample_parameters(self, images, seed):
        low, high = self.sigma
        return tf.random.stateless_uniform(
            [tf.shape(images)[0]], seed, low, high
        )

    def augment(self, images, sigma, training):
        radius = self.kernel_size // 2
        h, w = images.shape[1], images.shape[2]
        if h is not None and w is not None:
            radius = min(radius, h - 1, w - 1)
        if radius <= 0:
            return images
        return image_ops.gaussian_blur(images, sigma, radius)

    def get_config(self):
        config = super().get_config()
        config.update(
            {"sigma": list(self.sigma), "kernel_size": self.kernel_size}
        )
        return config
