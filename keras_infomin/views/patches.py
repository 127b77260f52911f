"""`PatchPair`: two patches a chosen distance apart (spatial views)."""

import math

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import standardize_images
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

    def __init__(
        self,
        patch_size,
        distance,
        direction="any",
        return_offsets=False,
        seed=None,
        **kwargs,
    ):
        super().__init__(seed=seed, **kwargs)
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

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) not in (3, 4):
            raise ValueError(
                "PatchPair expects images [batch, height, width, channels] "
                f"or [height, width, channels]; received shape {shape}."
            )
        if shape[-3] is not None and shape[-2] is not None:
            self.check_image_size(shape[-3], shape[-2])
        self.built = True

    def _offsets(self, batch, height, width, training):
        """Offsets `(dy, dx)` float `[B]`."""
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
            if training:
                s_axis, s_sign = self.draw_seed(2)
                u = tf.random.stateless_uniform([batch], s_axis)
                sign = tf.where(
                    tf.random.stateless_uniform([batch], s_sign) < 0.5,
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
        if training:
            s_angle, s_sy, s_sx = self.draw_seed(3)
            theta = lo + (hi - lo) * tf.random.stateless_uniform(
                [batch], s_angle
            )
            sy = tf.where(
                tf.random.stateless_uniform([batch], s_sy) < 0.5, -1.0, 1.0
            )
            sx = tf.where(
                tf.random.stateless_uniform([batch], s_sx) < 0.5, -1.0, 1.0
            )
        else:
            theta = tf.fill([batch], (lo + hi) / 2.0)
            sy = sx = tf.ones([batch])
        dy = tf.minimum(tf.round(d * tf.sin(theta)), b) * sy
        dx = tf.minimum(tf.round(d * tf.cos(theta)), a) * sx
        return dy, dx

    def call(self, images, training=True):
        images, unbatched = standardize_images(images)
        h, w = images.shape[1], images.shape[2]
        if h is not None and w is not None:
            self.check_image_size(h, w)
        shape = tf.shape(images)
        batch = shape[0]
        dy, dx = self._offsets(batch, shape[1], shape[2], training)
        a = tf.cast(shape[2] - self.patch_size, tf.float32)
        b = tf.cast(shape[1] - self.patch_size, tf.float32)
        # First corner: y1 in [max(0, -dy), b - max(0, dy)], same for x.
        y_lo, y_hi = tf.maximum(0.0, -dy), b - tf.maximum(0.0, dy)
        x_lo, x_hi = tf.maximum(0.0, -dx), a - tf.maximum(0.0, dx)
        if training:
            s_y, s_x = self.draw_seed(2)
            y1 = y_lo + tf.floor(
                tf.random.stateless_uniform([batch], s_y) * (y_hi - y_lo + 1.0)
            )
            x1 = x_lo + tf.floor(
                tf.random.stateless_uniform([batch], s_x) * (x_hi - x_lo + 1.0)
            )
            y1 = tf.minimum(y1, y_hi)
            x1 = tf.minimum(x1, x_hi)
        else:
            y1 = tf.floor((y_lo + y_hi) / 2.0)
            x1 = tf.floor((x_lo + x_hi) / 2.0)
        y2, x2 = y1 + dy, x1 + dx
        index = tf.range(batch)
        p = self.patch_size
        first = extract_windows(images, index, y1, x1, p)
        second = extract_windows(images, index, y2, x2, p)
        corners = tf.cast(tf.stack([y1, x1, y2, x2], axis=1), tf.int32)
        if unbatched:
            first, second, corners = first[0], second[0], corners[0]
        if self.return_offsets:
            return first, second, corners
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
