"""`RandAugment` with per-sample operations, as in the InfoMin recipe."""

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.views import image_ops
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import check_shape
from keras_infomin.views.base import restore_rank
from keras_infomin.views.base import standardize_images
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


def _make_op(name, fill_value):
    """Returns `fn(images, level [b], sign [b])` for the operation `name`."""
    io = image_ops
    if name == "identity":
        return lambda x, level, sign: x
    if name == "auto_contrast":
        return lambda x, level, sign: io.autocontrast(x)
    if name == "equalize":
        return lambda x, level, sign: io.equalize(x)
    if name == "invert":
        return lambda x, level, sign: io.invert(x)
    if name == "rotate":
        return lambda x, level, sign: io.affine_warp(
            x, io.rotation_matrices(x, _signed(level, sign, 30.0)), fill_value
        )
    if name == "posterize":
        return lambda x, level, sign: io.posterize(
            x, tf.floor(level / MAX_MAGNITUDE * 4.0)
        )
    if name == "solarize":
        return lambda x, level, sign: io.solarize(
            x, tf.floor(level / MAX_MAGNITUDE * 256.0)
        )
    if name == "solarize_add":
        return lambda x, level, sign: io.solarize_add(
            x, tf.floor(level / MAX_MAGNITUDE * 110.0)
        )
    if name == "color":
        return lambda x, level, sign: io.adjust_saturation(x, _enhance(level))
    if name == "contrast":
        return lambda x, level, sign: io.adjust_contrast(x, _enhance(level))
    if name == "brightness":
        return lambda x, level, sign: io.adjust_brightness(x, _enhance(level))
    if name == "sharpness":
        return lambda x, level, sign: io.adjust_sharpness(x, _enhance(level))
    if name in ("shear_x", "shear_y"):
        axis = name[-1]
        return lambda x, level, sign: io.affine_warp(
            x,
            io.shear_matrices(x, _signed(level, sign, 0.3), axis),
            fill_value,
        )
    if name in ("translate_x", "translate_y"):
        axis = name[-1]
        return lambda x, level, sign: io.affine_warp(
            x,
            io.translation_matrices(x, _signed(level, sign, 0.45), axis),
            fill_value,
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
        fill_value: RGB fill of the area that geometric operations bring in
            (default: the ImageNet mean, as in the recipe).
        seed: optional int.
        **kwargs: `keras.layers.Layer` arguments.

    Input shape:
        `[B, H, W, C]` or `[H, W, C]`, float in [0, 1], `C = len(fill_value)`.

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
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
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
        self.fill_value = tuple(float(v) for v in fill_value)
        self._fns = [_make_op(name, self.fill_value) for name in self.ops]

    def build(self, input_shape):
        shape = check_shape("images", input_shape)
        if shape[-1] is not None and shape[-1] != len(self.fill_value):
            raise ValueError(
                f"RandAugment got images with {shape[-1]} channels but a "
                f"fill_value of {len(self.fill_value)}; pass fill_value "
                "with one entry per channel."
            )
        self.built = True

    def call(self, images, training=True):
        if not training or self.rate == 0.0:
            return images
        images, unbatched = standardize_images(
            images, channels=len(self.fill_value)
        )
        batch = tf.shape(images)[0]
        n = len(self._fns)

        def branch(k):
            fn = self._fns[k]
            return lambda args: fn(args[0], args[1], args[2])

        branches = [branch(k) for k in range(n)] + [None]
        round_seeds = tf.random.experimental.stateless_split(
            self.draw_seed(), self.num_ops
        )

        def one_round(r, x):
            seeds = tf.random.experimental.stateless_split(round_seeds[r], 4)
            op = tf.random.stateless_uniform(
                [batch], seeds[0], 0, n, dtype=tf.int32
            )
            apply = tf.random.stateless_uniform([batch], seeds[1]) < self.rate
            op = tf.where(apply, op, n)
            level = self.magnitude + self.magnitude_std * (
                tf.random.stateless_normal([batch], seeds[2])
            )
            level = tf.clip_by_value(level, 0.0, MAX_MAGNITUDE)
            sign = tf.where(
                tf.random.stateless_uniform([batch], seeds[3]) < 0.5, -1.0, 1.0
            )
            x = switch_per_sample(
                op, (x, level, sign), branches, guard_empty=False
            )
            return r + 1, tf.ensure_shape(tf.cast(x, images.dtype), x_shape)

        # A graph loop: the rounds share one traced body.
        x_shape = images.shape
        _, x = tf.while_loop(
            lambda r, x: r < self.num_ops,
            one_round,
            (tf.constant(0), images),
        )
        return restore_rank(tf.cast(x, images.dtype), unbatched)

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
