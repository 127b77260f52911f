"""`ColorJitter`: torchvision's colour jitter, per sample, in random order."""

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.views import image_ops
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import check_range_pair
from keras_infomin.views.base import switch_per_sample

# Kind of each change in the blend rounds.
_CODES = {"brightness": 0, "contrast": 1, "saturation": 2, "hue": 3}


def _factor_range(name, value):
    """`v -> [max(0, 1 - v), 1 + v]`, or a given `(min, max)` pair."""
    if isinstance(value, (tuple, list)):
        return check_range_pair(name, value, 0.0, float("inf"))
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or value < 0
    ):
        raise ValueError(
            f"`{name}` must be a number >= 0 or a pair (min, max) of "
            f"factors >= 0; received {name}={value!r}."
        )
    return (max(0.0, 1.0 - float(value)), 1.0 + float(value))


def _hue_range(value):
    if isinstance(value, (tuple, list)):
        return check_range_pair("hue", value, -0.5, 0.5)
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or not 0 <= value <= 0.5
    ):
        raise ValueError(
            "`hue` must be a number in [0, 0.5] or a pair (min, max) in "
            f"[-0.5, 0.5]; received hue={value!r}."
        )
    return (-float(value), float(value))


@register
class ColorJitter(RandomViewLayer):
    """Random brightness, contrast, saturation and hue, torchvision style.

    For each sample, factors are drawn uniformly: brightness and contrast
    and saturation in `[max(0, 1 - v), 1 + v]` for a number `v` (or in a
    given `(min, max)`), hue shift in `[-h, h]` turns. The four changes are
    applied in a random order drawn per sample (torchvision's
    `randperm(4)` per image), each clipped to the value range (the
    formulas below are for the range [0, 1]):

    - brightness: `x * f`;
    - contrast: `m + f (x - m)`, `m` the image's mean luma;
    - saturation: `g + f (x - g)`, `g` the pixel's luma
      (`0.299 R + 0.587 G + 0.114 B`);
    - hue: the HSV hue shifted by the drawn amount (mod 1).

    Always applied; wrap in `RandomApply(ColorJitter(...), rate=0.8)` for
    the SimCLR / MoCo v2 / InfoMin recipe.

    Vectorised: brightness, contrast and saturation are all blends
    `d + f (x - d)` with a different degenerate image `d` (black, mean
    luma, pixel luma), so one blend round serves every sample whatever
    change it draws for that round; samples are grouped by the round of
    their hue shift (`switch_per_sample`), so every sample goes through
    exactly its changes, once each.

    Differences from `keras.layers.RandomColorJitter` (Keras 3.15): Keras
    applies brightness, contrast, saturation, hue in a fixed order; its
    brightness is additive (a shift of `factor` times the value range), not
    a multiplication; its saturation and hue factors use other
    parametrisations; it has no probability. Those differences matter for
    reproducing the published recipes, hence this layer.

    In inference (`training=False`) the input is returned unchanged.

    Args:
        brightness, contrast, saturation: number `>= 0` or `(min, max)`
            factor range; 0 disables the change.
        hue: number in [0, 0.5] or `(min, max)` in [-0.5, 0.5]; 0 disables.
        seed: optional int.
        value_range: range of the incoming images (see `ViewLayer`).
        **kwargs: `keras.layers.Layer` arguments.

    Input shape:
        `[B, H, W, 3]` or `[H, W, 3]` (1 channel: saturation and hue are
        no-ops), float, in `value_range`.

    Example:

    ```python
    jitter = RandomApply(ColorJitter(0.8, 0.8, 0.8, 0.2), rate=0.8)
    ```
    """

    def __init__(
        self,
        brightness=0.0,
        contrast=0.0,
        saturation=0.0,
        hue=0.0,
        seed=None,
        value_range=None,
        **kwargs,
    ):
        super().__init__(seed=seed, value_range=value_range, **kwargs)
        self.brightness = _factor_range("brightness", brightness)
        self.contrast = _factor_range("contrast", contrast)
        self.saturation = _factor_range("saturation", saturation)
        self.hue = _hue_range(hue)
        ops = []
        if self.brightness != (1.0, 1.0):
            ops.append(
                ("brightness", self.brightness, image_ops.adjust_brightness)
            )
        if self.contrast != (1.0, 1.0):
            ops.append(("contrast", self.contrast, image_ops.adjust_contrast))
        if self.saturation != (1.0, 1.0):
            ops.append(
                ("saturation", self.saturation, image_ops.adjust_saturation)
            )
        if self.hue != (0.0, 0.0):
            ops.append(("hue", self.hue, image_ops.adjust_hue))
        self._ops = ops

    supported_channels = (1, 3)

    @staticmethod
    def _blend(x, kinds, factors):
        """One blend round: sample `i` blends with its degenerate image
        `d = a_i luma + b_i` (black: a = b = 0; mean luma: a = 0, b = mean;
        pixel luma: a = 1, b = 0) by its factor."""
        gray = image_ops.luma(x)
        mean = tf.reduce_mean(gray, axis=[1, 2, 3], keepdims=True)
        kinds = tf.reshape(kinds, [-1, 1, 1, 1])
        a = tf.cast(kinds == 2, x.dtype)
        b = tf.where(kinds == 1, mean, tf.zeros_like(mean))
        degenerate = a * gray + b
        factors = tf.reshape(tf.cast(factors, x.dtype), [-1, 1, 1, 1])
        return tf.clip_by_value(
            degenerate + factors * (x - degenerate), 0.0, 1.0
        )

    def sample_parameters(self, images, seed):
        """Per sample: the change of each round `[B, n]` (0 brightness, 1
        contrast, 2 saturation, 3 hue), its factor `[B, n]`, the hue
        shift `[B]` (0 without hue)."""
        batch = tf.shape(images)[0]
        n = len(self._ops)
        if n == 0:
            return None
        seeds = tf.random.experimental.stateless_split(seed, n + 1)
        factors = tf.stack(
            [
                tf.random.stateless_uniform([batch], seeds[k], low, high)
                for k, (_, (low, high), _) in enumerate(self._ops)
            ],
            axis=1,
        )
        kind_of = tf.constant([_CODES[name] for name, _, _ in self._ops])
        order = tf.argsort(
            tf.random.stateless_uniform([batch, n], seeds[n]), axis=1
        )
        return {
            "kinds": tf.gather(kind_of, order),
            "factors": tf.gather(factors, order, batch_dims=1),
            "hue": factors[:, n - 1],
        }

    def augment(self, images, parameters, training):
        if parameters is None:
            return images
        n = len(self._ops)
        kinds, factors = parameters["kinds"], parameters["factors"]
        if self._ops[-1][0] != "hue":
            x = images
            for r in range(n):
                x = self._blend(x, kinds[:, r], factors[:, r])
            return x

        # Samples are grouped by the round of their hue shift (n groups);
        # each group runs its blends and its hue shift in its order.
        hue_round = tf.argmax(
            tf.cast(kinds == _CODES["hue"], tf.int32),
            axis=1,
            output_type=tf.int32,
        )

        def branch(k):
            def run(args):
                x, kinds, factors, hue = args
                for r in range(n):
                    if r == k:
                        x = image_ops.adjust_hue(x, hue)
                    else:
                        x = self._blend(x, kinds[:, r], factors[:, r])
                return x

            return run

        x = switch_per_sample(
            hue_round,
            (images, kinds, factors, parameters["hue"]),
            [branch(k) for k in range(n)],
        )
        return tf.ensure_shape(x, images.shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "brightness": list(self.brightness),
                "contrast": list(self.contrast),
                "saturation": list(self.saturation),
                "hue": list(self.hue),
            }
        )
        return config
