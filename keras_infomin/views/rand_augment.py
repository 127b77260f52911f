"""`RandAugment` with per-sample operations, as in the InfoMin recipe."""

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.views import image_ops
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import switch_per_sample

MAX_MAGNITUDE = 10.0

# The operation set of the RandAugment variant used by InfoMin ("rand-n2-
# m10-mstd0.5" of the timm / PyContrast code), and its colour-free subset
# used when the views are colour channels (CMC).
DEFAULT_OPS = (
    "auto_contrast",
    "equalize",
    "invert",
    "rotate",
    "posterize",
    "solarize",
    "solarize_add",
    "color",
    "contrast",
    "brightness",
    "sharpness",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
)
COLOR_FREE_OPS = (
    "auto_contrast",
    "identity",
    "rotate",
    "sharpness",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
)
IMAGENET_MEAN = (0.485, 0.456, 0.406)


def _signed(level, sign, scale):
    return level / MAX_MAGNITUDE * scale * sign


def _enhance(level):
    return level / MAX_MAGNITUDE * 1.8 + 0.1


def _make_op(name):
    """Returns `fn(images, level [b], sign [b], fill)` for the operation
    `name` (`fill`: one value per channel for geometric operations)."""
    io = image_ops
    if name == "identity":
        return lambda x, level, sign, fill: x
    if name == "auto_contrast":
        return lambda x, level, sign, fill: io.autocontrast(x)
    if name == "equalize":
        return lambda x, level, sign, fill: io.equalize(x)
    if name == "invert":
        return lambda x, level, sign, fill: io.invert(x)
    if name == "rotate":
        return lambda x, level, sign, fill: io.affine_warp(
            x, io.rotation_matrices(x, _signed(level, sign, 30.0)), fill
        )
    if name == "posterize":
        return lambda x, level, sign, fill: io.posterize(
            x, tf.floor(level / MAX_MAGNITUDE * 4.0)
        )
    if name == "solarize":
        return lambda x, level, sign, fill: io.solarize(
            x, tf.floor(level / MAX_MAGNITUDE * 256.0)
        )
    if name == "solarize_add":
        return lambda x, level, sign, fill: io.solarize_add(
            x, tf.floor(level / MAX_MAGNITUDE * 110.0)
        )
    if name == "color":
        return lambda x, level, sign, fill: io.adjust_saturation(
            x, _enhance(level)
        )
    if name == "contrast":
        return lambda x, level, sign, fill: io.adjust_contrast(
            x, _enhance(level)
        )
    if name == "brightness":
        return lambda x, level, sign, fill: io.adjust_brightness(
            x, _enhance(level)
        )
    if name == "sharpness":
        return lambda x, level, sign, fill: io.adjust_sharpness(
            x, _enhance(level)
        )
    if name in ("shear_x", "shear_y"):
        axis = name[-1]
        return lambda x, level, sign, fill: io.affine_warp(
            x,
            io.shear_matrices(x, _signed(level, sign, 0.3), axis),
            fill,
        )
    if name in ("translate_x", "translate_y"):
        axis = name[-1]
        return lambda x, level, sign, fill: io.affine_warp(
            x,
            io.translation_matrices(x, _signed(level, sign, 0.45), axis),
            fill,
        )
    raise ValueError(
        f"Unknown RandAugment operation {name!r}; known: "
        f"{sorted(set(DEFAULT_OPS + COLOR_FREE_OPS))}."
    )


@register
class RandAugment(RandomViewLayer):
    """RandAugment with operations drawn per sample and applied with `rate`.

    For each of `num_ops` rounds, every sample draws an operation uniformly
    (with replacement) from `ops`, applies it with probability `rate`, at a
    magnitude `m ~ N(magnitude, magnitude_std^2)` clipped to [0, 10]. Level
    to argument maps (those of the InfoMin / timm "rand-n2-m10-mstd0.5"
    recipe): rotate `+-30 m/10` degrees, shear `+-0.3 m/10`, translate
    `+-0.45 m/10` of the side (signs random), colour / contrast /
    brightness / sharpness factor `0.1 + 1.8 m/10`, posterize to
    `floor(4 m/10)` bits, solarize above level `floor(256 m/10)`,
    solarize-add `floor(110 m/10)` below level 128; auto-contrast,
    equalize and invert take no magnitude. Geometric operations are
    bilinear about the image centre and fill with `fill_value`. Each
    sample is computed once per round (`switch_per_sample`).

    Differences from `keras.layers.RandAugment` (Keras 3.15): Keras draws
    the operations once per *batch* (every image of a batch gets the same
    two operations, checked on batched input), always applies them,
    computes all eleven candidate operations on the whole batch at every
    round, and maps `factor` to other ranges. PIL's 256-level solarize
    threshold at magnitude 10 is a no-op in the original recipe; that is
    kept.

    In inference (`training=False`) the input is returned unchanged.

    Args:
        num_ops: operations per sample (rounds), >= 1.
        magnitude: mean magnitude in [0, 10].
        magnitude_std: standard deviation of the per-sample magnitude.
        rate: probability of applying each drawn operation, in [0, 1].
        ops: operation names, a tuple from `DEFAULT_OPS` and "identity";
            `"color_free"` selects `COLOR_FREE_OPS`.
        fill_value: fill of the area that geometric operations bring in,
            in [0, 1] of the value range: one number, or three (RGB;
            default: the ImageNet mean, as in the recipe), whose luma
            fills single-channel images.
        seed: optional int.
        value_range: range of the incoming images (see `ViewLayer`).
        **kwargs: `keras.layers.Layer` arguments.

    Input shape:
        `[B, H, W, C]` or `[H, W, C]`, `C` 3 or 1; on single-channel
        images the colour operation (saturation) leaves them unchanged.

    Example:

    ```python
    augment = RandAugment(num_ops=2, magnitude=10, magnitude_std=0.5,
                          rate=0.5)
    ```
    """

    def __init__(
        self,
        num_ops=2,
        magnitude=10.0,
        magnitude_std=0.5,
        rate=0.5,
        ops=None,
        fill_value=IMAGENET_MEAN,
        seed=None,
        value_range=None,
        **kwargs,
    ):
        super().__init__(seed=seed, value_range=value_range, **kwargs)
        if (
            not isinstance(num_ops, int)
            or isinstance(num_ops, bool)
            or num_ops < 1
        ):
            raise ValueError(
                "`num_ops` must be a positive int; received "
                f"num_ops={num_ops!r}."
            )
        self.num_ops = num_ops
        self.magnitude = float(
            check_in_range("magnitude", magnitude, 0.0, MAX_MAGNITUDE)
        )
        if (
            not isinstance(magnitude_std, (int, float))
            or isinstance(magnitude_std, bool)
            or magnitude_std < 0
        ):
            raise ValueError(
                "`magnitude_std` must be a number >= 0; received "
                f"magnitude_std={magnitude_std!r}."
            )
        self.magnitude_std = float(magnitude_std)
        self.rate = float(check_in_range("rate", rate, 0.0, 1.0))
        if ops is None:
            ops = DEFAULT_OPS
        elif ops == "color_free":
            ops = COLOR_FREE_OPS
        if not isinstance(ops, (tuple, list)) or not ops:
            raise ValueError(
                "`ops` must be a non-empty list of operation names or "
                f"'color_free'; received ops={ops!r}."
            )
        self.ops = tuple(str(o) for o in ops)
        if isinstance(fill_value, (int, float)) and not isinstance(
            fill_value, bool
        ):
            fill_value = (fill_value,)
        ok = isinstance(fill_value, (tuple, list)) and len(fill_value) in (1, 3)
        ok = ok and all(
            isinstance(v, (int, float))
            and not isinstance(v, bool)
            and 0.0 <= v <= 1.0
            for v in fill_value
        )
        if not ok:
            raise ValueError(
                "`fill_value` must be a number in [0, 1] or three of them "
                f"(RGB); received fill_value={fill_value!r}."
            )
        self.fill_value = tuple(float(v) for v in fill_value)
        self._fns = [_make_op(name) for name in self.ops]

    supported_channels = (1, 3)

    def fill_for(self, channels):
        """The per-channel fill for images with 1 or 3 channels."""
        fill = self.fill_value
        if len(fill) == 1:
            return fill * channels
        if channels == 1:
            return (sum(w * v for w, v in zip(image_ops.LUMA_WEIGHTS, fill)),)
        return fill

    def sample_parameters(self, images, seed):
        """Per round and sample: the operation `[R, B]` (`len(ops)` when
        not applied), its magnitude level and its sign."""
        batch = tf.shape(images)[0]
        shape = [self.num_ops, batch]
        seeds = tf.random.experimental.stateless_split(seed, 4)
        n = len(self._fns)
        op = tf.random.stateless_uniform(shape, seeds[0], 0, n, dtype=tf.int32)
        apply = tf.random.stateless_uniform(shape, seeds[1]) < self.rate
        level = self.magnitude + self.magnitude_std * (
            tf.random.stateless_normal(shape, seeds[2])
        )
        sign = tf.where(
            tf.random.stateless_uniform(shape, seeds[3]) < 0.5, -1.0, 1.0
        )
        return {
            "op": tf.where(apply, op, n),
            "level": tf.clip_by_value(level, 0.0, MAX_MAGNITUDE),
            "sign": sign,
        }

    def augment(self, images, parameters, training):
        if self.rate == 0.0:
            return images
        fill = self.fill_for(images.shape[-1])

        def branch(fn):
            return lambda args: fn(args[0], args[1], args[2], fill)

        # The last branch (index len(ops)): not applied this round.
        branches = [branch(fn) for fn in self._fns] + [None]

        def one_round(r, x):
            x = switch_per_sample(
                parameters["op"][r],
                (x, parameters["level"][r], parameters["sign"][r]),
                branches,
            )
            return r + 1, tf.ensure_shape(x, images.shape)

        # A graph loop: the rounds share one traced body.
        _, x = tf.while_loop(
            lambda r, x: r < self.num_ops,
            one_round,
            (tf.constant(0), images),
        )
        return x

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "num_ops": self.num_ops,
                "magnitude": self.magnitude,
                "magnitude_std": self.magnitude_std,
                "rate": self.rate,
                "ops": list(self.ops),
                "fill_value": list(self.fill_value),
            }
        )
        return config
