"""`PatchPair`: two patches a chosen distance apart (spatial views)."""

import math

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.jigsaw import extract_windows

DIRECTIONS = ("any", "axis")


def max_patch_distance(height, width, patch_size, direction="any"):
    """Largest corner distance two `patch_size` patches can have.

    `sqrt((H - p)^2 + (W - p)^2)` for any direction, `max(H, W) - p` along
    the axes.
    """
    a, b = width - patch_size, height - patch_size
    if direction == "axis":
        return float(max(a, b))
    return math.hypot(a, b)


@register
class PatchPair(RandomViewLayer):
    """Two square patches whose top-left corners lie `distance` apart.

    InfoMin (Sec. 3.2) varies the distance between two patches of an image
    and finds a reverse-U of downstream accuracy against it. For each
    sample the offset `(dy, dx)` between the corners is drawn first, then
    the first corner uniformly among the positions where both patches fit:

    - `direction="any"`: the angle is uniform over the directions in which
      the offset fits (`|dx| <= W - p`, `|dy| <= H - p`), in a random
      quadrant; `dy, dx` are rounded to whole pixels, so the realised
      distance is within `sqrt(2) / 2` pixels of `distance`;
    - `direction="axis"`: a horizontal or vertical offset of exactly
      `round(distance)` pixels (a feasible axis, at random if both fit).

    In inference (`training=False`) the offset takes the middle feasible
    angle (or the horizontal axis) with positive signs and the pair is
    centred in the image.

    Args:
        patch_size: patch side in pixels.
        distance: distance between the corners in pixels (>= 0).
        direction: `"any"` or `"axis"`.
        return_offsets: also return the corners `[B, 4]` as
            `(top1, left1, top2, left2)`, int32.
        seed: optional int.
        value_range: range of the incoming images (see `ViewLayer`).
        **kwargs: `keras.layers.Layer` arguments.

    Raises:
        ValueError: when the patch does not fit the image or no two patches
            can be `distance` apart (checked as soon as the image size is
            known).

    Returns:
        `(patch1, patch2)`, each `[B, p, p, C]` (plus the corners).

    Example:

    ```python
    first, second = PatchPair(patch_size=64, distance=96)(images)
    ```
    """

    changes_values = False

    def __init__(
        self,
        patch_size,
        distance,
        direction="any",
        return_offsets=False,
        seed=None,
        value_range=None,
        **kwargs,
    ):
        super().__init__(seed=seed, value_range=value_range, **kwargs)
        if (
            not isinstance(patch_size, int)
            or isinstance(patch_size, bool)
            or patch_size < 1
        ):
            raise ValueError(
                "`patch_size` must be a positive int; received "
                f"patch_size={patch_size!r}."
            )
        if (
            not isinstance(distance, (int, float))
            or isinstance(distance, bool)
            or not math.isfinite(distance)
            or distance < 0
        ):
            raise ValueError(
                "`distance` must be a finite number >= 0; received "
                f"distance={distance!r}."
            )
        if direction not in DIRECTIONS:
            raise ValueError(
                f"`direction` must be one of {DIRECTIONS}; received "
                f"direction={direction!r}."
            )
        self.patch_size = patch_size
        self.distance = float(distance)
        self.direction = direction
        self.return_offsets = bool(return_offsets)

    def check_image_size(self, height, width):
        """Raises `ValueError` unless the pair fits `height x width`."""
        p = self.patch_size
        if p > height or p > width:
            raise ValueError(
                f"PatchPair: patch_size={p} is larger than the {height} x "
                f"{width} images."
            )
        limit = max_patch_distance(height, width, p, self.direction)
        distance = self.distance
        if self.direction == "axis":
            distance = float(round(distance))
        if distance > limit + 1e-9:
            raise ValueError(
                f"PatchPair: two {p}-pixel patches of a {height} x {width} "
                f"image can be at most {limit:.2f} pixels apart "
                f"(direction={self.direction!r}); received "
                f"distance={self.distance}."
            )

    def check_input_shape(self, input_shape):
        input_shape = super().check_input_shape(input_shape)
        if input_shape[-3] is not None and input_shape[-2] is not None:
            self.check_image_size(input_shape[-3], input_shape[-2])
        return input_shape

    def _offsets(self, batch, height, width, seeds=None):
        """Offsets `(dy, dx)` float `[B]`; `seeds` None: inference."""
        d = self.distance
        a = tf.cast(width - self.patch_size, tf.float32)
        b = tf.cast(height - self.patch_size, tf.float32)
        if d == 0.0:
            zero = tf.zeros([batch])
            return zero, zero
        if self.direction == "axis":
            d = float(round(d))
            fits_x = a >= d
            fits_y = b >= d
            if seeds is not None:
                u = tf.random.stateless_uniform([batch], seeds[0])
                sign = tf.where(
                    tf.random.stateless_uniform([batch], seeds[1]) < 0.5,
                    -1.0,
                    1.0,
                )
            else:
                u = tf.zeros([batch])
                sign = tf.ones([batch])
            pick_x = tf.where(fits_x & fits_y, u < 0.5, fits_x)
            dx = tf.where(pick_x, d * sign, 0.0)
            dy = tf.where(pick_x, 0.0, d * sign)
            return dy, dx
        lo = tf.acos(tf.minimum(1.0, a / d))
        hi = tf.asin(tf.minimum(1.0, b / d))
        if seeds is not None:
            theta = lo + (hi - lo) * tf.random.stateless_uniform(
                [batch], seeds[0]
            )
            sy = tf.where(
                tf.random.stateless_uniform([batch], seeds[1]) < 0.5, -1.0, 1.0
            )
            sx = tf.where(
                tf.random.stateless_uniform([batch], seeds[2]) < 0.5, -1.0, 1.0
            )
        else:
            theta = tf.fill([batch], (lo + hi) / 2.0)
            sy = sx = tf.ones([batch])
        dy = tf.minimum(tf.round(d * tf.sin(theta)), b) * sy
        dx = tf.minimum(tf.round(d * tf.cos(theta)), a) * sx
        return dy, dx

    def _corners(self, images, seed=None):
        """`(y1, x1, y2, x2)` float `[B]`; `seed` None: inference."""
        shape = tf.shape(images)
        batch = shape[0]
        seeds = (
            None
            if seed is None
            else tf.random.experimental.stateless_split(seed, 5)
        )
        dy, dx = self._offsets(batch, shape[1], shape[2], seeds)
        a = tf.cast(shape[2] - self.patch_size, tf.float32)
        b = tf.cast(shape[1] - self.patch_size, tf.float32)
        # First corner: y1 in [max(0, -dy), b - max(0, dy)], same for x.
        y_lo, y_hi = tf.maximum(0.0, -dy), b - tf.maximum(0.0, dy)
        x_lo, x_hi = tf.maximum(0.0, -dx), a - tf.maximum(0.0, dx)
        if seeds is not None:
            y1 = y_lo + tf.floor(
                tf.random.stateless_uniform([batch], seeds[3])
                * (y_hi - y_lo + 1.0)
            )
            x1 = x_lo + tf.floor(
                tf.random.stateless_uniform([batch], seeds[4])
                * (x_hi - x_lo + 1.0)
            )
            y1 = tf.minimum(y1, y_hi)
            x1 = tf.minimum(x1, x_hi)
        else:
            y1 = tf.floor((y_lo + y_hi) / 2.0)
            x1 = tf.floor((x_lo + x_hi) / 2.0)
        return y1, x1, y1 + dy, x1 + dx

    def sample_parameters(self, images, seed):
        return self._corners(images, seed)

    def inference_parameters(self, images):
        return self._corners(images)

    def augment(self, images, corners, training):
        y1, x1, y2, x2 = corners
        index = tf.range(tf.shape(images)[0])
        p = self.patch_size
        first = extract_windows(images, index, y1, x1, p)
        second = extract_windows(images, index, y2, x2, p)
        if self.return_offsets:
            stacked = tf.cast(tf.stack([y1, x1, y2, x2], axis=1), tf.int32)
            return first, second, stacked
        return first, second

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        patch = shape[:-3] + (self.patch_size, self.patch_size, shape[-1])
        if self.return_offsets:
            return patch, patch, shape[:-3] + (4,)
        return patch, patch

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "patch_size": self.patch_size,
                "distance": self.distance,
                "direction": self.direction,
                "return_offsets": self.return_offsets,
            }
        )
        return config
