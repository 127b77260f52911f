"""`RandomResizedCrop`: torchvision's resized crop, vectorised over a batch."""

import math

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import check_range_pair


def sample_crop_boxes(
    seed, batch_size, height, width, scale, ratio, attempts=10
):
    """Draws resized-crop windows with torchvision's semantics.

    For each sample, up to `attempts` candidates are drawn at once: an area
    fraction `s ~ U(scale)` and an aspect ratio `r = exp(U(log ratio))`
    (width / height), giving `w = round(sqrt(s H W r))` and
    `h = round(sqrt(s H W / r))`. The first candidate with `0 < w <= W` and
    `0 < h <= H` is kept; if none fits, the window falls back to the
    largest centred crop whose ratio is clamped to `ratio`. The corner is
    uniform over the valid positions: `top ~ U{0, ..., H - h}`,
    `left ~ U{0, ..., W - w}`.

    Args:
        seed: int32 tensor `[2]`.
        batch_size: scalar int tensor or int.
        height, width: scalar int tensors or ints, the image size.
        scale: `(min, max)` area fraction.
        ratio: `(min, max)` aspect ratio (width / height).
        attempts: candidates per sample.

    Returns:
        `(top, left, crop_height, crop_width)`, int32 tensors `[batch]`.
    """
    seeds = tf.random.experimental.stateless_split(seed, 4)
    hf = tf.cast(height, tf.float32)
    wf = tf.cast(width, tf.float32)
    shape = tf.stack([batch_size, attempts])
    area = (
        hf
        * wf
        * tf.random.stateless_uniform(shape, seeds[0], scale[0], scale[1])
    )
    log_ratio = tf.random.stateless_uniform(
        shape, seeds[1], math.log(ratio[0]), math.log(ratio[1])
    )
    aspect = tf.exp(log_ratio)
    cw = tf.round(tf.sqrt(area * aspect))
    ch = tf.round(tf.sqrt(area / aspect))
    valid = (cw > 0) & (cw <= wf) & (ch > 0) & (ch <= hf)
    first = tf.argmax(tf.cast(valid, tf.int32), axis=1, output_type=tf.int32)
    any_valid = tf.reduce_any(valid, axis=1)
    cw = tf.gather(cw, first, batch_dims=1)
    ch = tf.gather(ch, first, batch_dims=1)

    in_ratio = wf / hf
    fw = tf.where(
        in_ratio < ratio[0],
        wf,
        tf.where(in_ratio > ratio[1], tf.round(hf * ratio[1]), wf),
    )
    fh = tf.where(
        in_ratio < ratio[0],
        tf.round(wf / ratio[0]),
        tf.where(in_ratio > ratio[1], hf, hf),
    )
    ch = tf.where(any_valid, ch, fh)
    cw = tf.where(any_valid, cw, fw)

    u_top = tf.random.stateless_uniform([batch_size], seeds[2])
    u_left = tf.random.stateless_uniform([batch_size], seeds[3])
    top = tf.minimum(tf.floor(u_top * (hf - ch + 1.0)), hf - ch)
    left = tf.minimum(tf.floor(u_left * (wf - cw + 1.0)), wf - cw)
    centre_top = tf.floor((hf - ch) / 2.0)
    centre_left = tf.floor((wf - cw) / 2.0)
    top = tf.where(any_valid, top, centre_top)
    left = tf.where(any_valid, left, centre_left)
    return (
        tf.cast(top, tf.int32),
        tf.cast(left, tf.int32),
        tf.cast(ch, tf.int32),
        tf.cast(cw, tf.int32),
    )


def crop_and_resize(
    images, top, left, crop_height, crop_width, size, method="bilinear"
):
    """Crops a window per sample and resizes it, half-pixel exact.

    Output pixel `k` of a window `[top, top + h)` samples the source row
    `top + (k + 0.5) h / out - 0.5` (the convention of
    `tf.image.resize`/torchvision with `align_corners=False`); positions
    beyond the image border take the edge value. Implemented with one
    `tf.image.crop_and_resize` on the image padded by one edge pixel. Two
    differences from resizing the cut-out window: no antialiasing when
    shrinking, and when enlarging (window smaller than the output), the
    outermost output pixels, whose positions lie up to half a source pixel
    outside the window, blend in the image pixels just outside it instead
    of repeating the window's edge (a per-pixel clamp would need a gather
    and costs about 1.5 to 2 times as much).

    Args:
        images: float tensor `[B, H, W, C]`.
        top, left, crop_height, crop_width: tensors `[B]` (pixels; floats
            allowed).
        size: `(out_height, out_width)`.
        method: `"bilinear"` or `"nearest"`.

    Returns:
        float32 tensor `[B, out_height, out_width, C]`.
    """
    out_h, out_w = size
    shape = tf.shape(images)
    hf = tf.cast(shape[1], tf.float32)
    wf = tf.cast(shape[2], tf.float32)
    top = tf.cast(top, tf.float32)
    left = tf.cast(left, tf.float32)
    ch = tf.cast(crop_height, tf.float32)
    cw = tf.cast(crop_width, tf.float32)
    y0 = top + 0.5 * ch / out_h - 0.5
    y1 = top + ch - 0.5 * ch / out_h - 0.5
    x0 = left + 0.5 * cw / out_w - 0.5
    x1 = left + cw - 0.5 * cw / out_w - 0.5
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], "SYMMETRIC")
    boxes = tf.stack(
        [
            (y0 + 1.0) / (hf + 1.0),
            (x0 + 1.0) / (wf + 1.0),
            (y1 + 1.0) / (hf + 1.0),
            (x1 + 1.0) / (wf + 1.0),
        ],
        axis=1,
    )
    box_indices = tf.range(shape[0])
    return tf.image.crop_and_resize(
        padded, boxes, box_indices, [out_h, out_w], method=method
    )


def centre_window(height, width, out_height, out_width):
    """Largest centred window with the output's aspect ratio."""
    hf = tf.cast(height, tf.float32)
    wf = tf.cast(width, tf.float32)
    target = out_height / out_width
    ch = tf.minimum(hf, wf * target)
    cw = tf.minimum(wf, hf / target)
    return (hf - ch) / 2.0, (wf - cw) / 2.0, ch, cw


@register
class RandomResizedCrop(RandomViewLayer):
    """Random crop of random area and aspect ratio, resized to a fixed size.

    The torchvision `RandomResizedCrop` semantics, drawn per sample as
    tensors: area fraction `s ~ U(scale)`, aspect ratio (width / height)
    log-uniform on `ratio`, up to `attempts` candidates drawn at once with
    the first one that fits kept, and a centred crop with the ratio
    clamped to `ratio` when none fits. The window is then resampled to
    `(height, width)` with half-pixel centres (see `crop_and_resize`);
    unlike torchvision there is no antialiasing when shrinking.

    In inference (`training=False`) the layer returns the largest centred
    window with the output's aspect ratio, resized.

    Args:
        height, width: output size in pixels.
        scale: `(min, max)` fraction of the image area, in (0, 1].
        ratio: `(min, max)` aspect ratio, positive.
        interpolation: `"bilinear"` or `"nearest"`.
        attempts: candidate windows per sample before the fallback.
        seed: optional int.
        value_range: range of the incoming images (see `ViewLayer`).
        **kwargs: `keras.layers.Layer` arguments.

    Input shape:
        `[B, H, W, C]` or `[H, W, C]`, float, any values (the crop only
        moves pixels; bilinear resampling stays within their range).

    Output shape:
        `[B, height, width, C]` (or `[height, width, C]`).

    Example:

    ```python
    crop = RandomResizedCrop(224, 224, scale=(0.2, 1.0))
    views = crop(images)  # a different window for every image
    ```
    """

    changes_values = False

    def __init__(
        self,
        height,
        width,
        scale=(0.08, 1.0),
        ratio=(3.0 / 4.0, 4.0 / 3.0),
        interpolation="bilinear",
        attempts=10,
        seed=None,
        value_range=None,
        **kwargs,
    ):
        super().__init__(seed=seed, value_range=value_range, **kwargs)
        for name, value in (("height", height), ("width", width)):
            if (
                not isinstance(value, int)
                or isinstance(value, bool)
                or value < 1
            ):
                raise ValueError(
                    f"`{name}` must be a positive int; received "
                    f"{name}={value!r}."
                )
        self.height = height
        self.width = width
        self.scale = check_range_pair("scale", scale, 0.0, 1.0)
        if self.scale[1] <= 0.0:
            raise ValueError(
                f"`scale` must have max > 0; received scale={scale!r}."
            )
        self.ratio = check_range_pair("ratio", ratio, 1e-6, 1e6)
        if interpolation not in ("bilinear", "nearest"):
            raise ValueError(
                "`interpolation` must be 'bilinear' or 'nearest'; received "
                f"interpolation={interpolation!r}."
            )
        self.interpolation = interpolation
        if not isinstance(attempts, int) or attempts < 1:
            raise ValueError(
                f"`attempts` must be a positive int; received "
                f"attempts={attempts!r}."
            )
        self.attempts = attempts

    def sample_boxes(self, batch_size, image_height, image_width, seed=None):
        """Draws `(top, left, crop_height, crop_width)` int32 `[batch]`.

        Uses the layer's seed generator unless `seed` (int32 `[2]`) is
        given; useful to inspect the window statistics without images.
        """
        if seed is None:
            seed = self.draw_seed()
        return sample_crop_boxes(
            seed,
            batch_size,
            image_height,
            image_width,
            self.scale,
            self.ratio,
            self.attempts,
        )

    def sample_parameters(self, images, seed):
        shape = tf.shape(images)
        return self.sample_boxes(shape[0], shape[1], shape[2], seed=seed)

    def inference_parameters(self, images):
        shape = tf.shape(images)
        window = centre_window(shape[1], shape[2], self.height, self.width)
        return tuple(tf.fill([shape[0]], v) for v in window)

    def augment(self, images, window, training):
        top, left, ch, cw = window
        return crop_and_resize(
            images,
            top,
            left,
            ch,
            cw,
            (self.height, self.width),
            method=self.interpolation,
        )

    def compute_output_shape(self, input_shape):
        input_shape = tuple(input_shape)
        return input_shape[:-3] + (self.height, self.width, input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "height": self.height,
                "width": self.width,
                "scale": list(self.scale),
                "ratio": list(self.ratio),
                "interpolation": self.interpolation,
                "attempts": self.attempts,
            }
        )
        return config
