"""Batched image operations with per-sample parameters.

Pure functions on float images `[B, H, W, C]` in [0, 1]; every parameter is
a tensor `[B]` (one value per sample), so a whole batch is transformed in
one vectorised pass. They are the building blocks of `ColorJitter`,
`GaussianBlur`, `RandAugment` and friends. The photometric definitions
follow PIL's `ImageEnhance` / `ImageOps` and torchvision's functional
transforms (described per function); the 8-bit operations (posterize,
solarize, equalize) work on `round(255 x)` like their PIL counterparts.
"""

import math

import tensorflow as tf

LUMA_WEIGHTS = (0.299, 0.587, 0.114)


def _per_sample(value, images):
    """Reshapes a `[B]` parameter to broadcast against `[B, H, W, C]`."""
    return tf.reshape(tf.cast(value, images.dtype), [-1, 1, 1, 1])


def luma(images):
    """ITU-R 601-2 luma `0.299 R + 0.587 G + 0.114 B`, shape `[B, H, W, 1]`.

    Single-channel images are returned as they are.
    """
    if images.shape[-1] == 1:
        return images
    weights = tf.constant(LUMA_WEIGHTS, dtype=images.dtype)
    return tf.reduce_sum(images * weights, axis=-1, keepdims=True)


def blend(degenerate, images, factor):
    """`degenerate + factor (images - degenerate)`, clipped to [0, 1]."""
    factor = _per_sample(factor, images)
    out = degenerate + factor * (images - degenerate)
    return tf.clip_by_value(out, 0.0, 1.0)


def adjust_brightness(images, factor):
    """Multiplies by `factor` (PIL/torchvision brightness), clipped."""
    return blend(tf.zeros_like(images), images, factor)


def adjust_contrast(images, factor):
    """Blends with the image's mean luma (PIL/torchvision contrast)."""
    mean = tf.reduce_mean(luma(images), axis=[1, 2, 3], keepdims=True)
    return blend(mean, images, factor)


def adjust_saturation(images, factor):
    """Blends with the per-pixel luma (PIL colour, torchvision saturation).

    A no-op on single-channel images.
    """
    if images.shape[-1] == 1:
        return images
    return blend(luma(images), images, factor)


def adjust_hue(images, shift):
    """Rotates the HSV hue by `shift` turns (in [-0.5, 0.5]).

    Uses TensorFlow's fused `rgb_to_hsv` / `hsv_to_rgb` kernels (one pass
    each, about twice as fast as the differentiable conversions of
    `color_spaces`; augmentation needs no gradient). A no-op on
    single-channel images.
    """
    if images.shape[-1] == 1:
        return images
    hsv = tf.image.rgb_to_hsv(images)
    hue = tf.math.floormod(hsv[..., 0:1] + _per_sample(shift, images), 1.0)
    out = tf.image.hsv_to_rgb(tf.concat([hue, hsv[..., 1:]], axis=-1))
    return tf.clip_by_value(out, 0.0, 1.0)


def to_grayscale(images):
    """Luma repeated over the channels (torchvision `rgb_to_grayscale`
    with as many output channels as input channels)."""
    gray = luma(images)
    return tf.broadcast_to(gray, tf.shape(images))


def gaussian_kernels(sigma, radius):
    """Normalised 1-D Gaussian kernels `[B, 2 radius + 1]` for `sigma [B]`."""
    taps = tf.range(-radius, radius + 1, dtype=tf.float32)
    sigma = tf.reshape(tf.cast(sigma, tf.float32), [-1, 1])
    weights = tf.exp(-0.5 * tf.square(taps[None] / sigma))
    return weights / tf.reduce_sum(weights, axis=1, keepdims=True)


def depthwise_filter(images, kernels_y, kernels_x, padding_mode="REFLECT"):
    """Separable filtering with a different kernel per sample.

    The batch is folded into the channel axis (`[1, H, W, B C]`) so that one
    depthwise convolution applies sample `b`'s kernels to sample `b` only.

    Args:
        images: `[B, H, W, C]`.
        kernels_y, kernels_x: `[B, K]` with K odd (vertical, horizontal).
        padding_mode: `tf.pad` mode for the `K // 2` border.

    Returns:
        `[B, H, W, C]`, float32.
    """
    images = tf.cast(images, tf.float32)
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    c = images.shape[-1]
    ky = kernels_y.shape[-1]
    kx = kernels_x.shape[-1]
    x = tf.reshape(tf.transpose(images, [1, 2, 0, 3]), [1, h, w, b * c])
    x = tf.pad(
        x,
        [[0, 0], [ky // 2, ky // 2], [kx // 2, kx // 2], [0, 0]],
        mode=padding_mode,
    )
    fy = tf.reshape(
        tf.transpose(tf.repeat(kernels_y, c, axis=0)), [ky, 1, -1, 1]
    )
    fx = tf.reshape(
        tf.transpose(tf.repeat(kernels_x, c, axis=0)), [1, kx, -1, 1]
    )
    x = tf.nn.depthwise_conv2d(x, fy, [1, 1, 1, 1], "VALID")
    x = tf.nn.depthwise_conv2d(x, fx, [1, 1, 1, 1], "VALID")
    x = tf.reshape(x, [h, w, b, c])
    return tf.transpose(x, [2, 0, 1, 3])


def gaussian_blur(images, sigma, radius):
    """Gaussian blur with a per-sample `sigma` (pixels), reflect padding.

    Args:
        images: `[B, H, W, C]`; `radius < min(H, W)`.
        sigma: `[B]` positive standard deviations.
        radius: int, kernel half-width (kernel size `2 radius + 1`).
    """
    kernels = gaussian_kernels(sigma, radius)

    def blur():
        out = depthwise_filter(images, kernels, kernels)
        return tf.cast(out, images.dtype)

    # Reflect padding fails on an empty batch.
    return tf.cond(tf.shape(images)[0] > 0, blur, lambda: images)


def _smooth(images):
    """PIL's SMOOTH filter `[[1,1,1],[1,5,1],[1,1,1]] / 13` in the
    interior, the original pixels on the one-pixel border."""
    images = tf.cast(images, tf.float32)
    c = images.shape[-1]
    kernel = (
        tf.constant([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13.0
    )
    kernel = tf.tile(kernel[:, :, None, None], [1, 1, c, 1])
    smooth = tf.nn.depthwise_conv2d(images, kernel, [1, 1, 1, 1], "VALID")
    smooth = tf.pad(smooth, [[0, 0], [1, 1], [1, 1], [0, 0]])
    shape = tf.shape(images)
    inner = tf.pad(
        tf.ones([shape[1] - 2, shape[2] - 2], tf.float32), [[1, 1], [1, 1]]
    )[None, :, :, None]
    return inner * smooth + (1.0 - inner) * images


def adjust_sharpness(images, factor):
    """Blends with PIL's smoothed image (PIL `ImageEnhance.Sharpness`)."""
    return blend(tf.cast(_smooth(images), images.dtype), images, factor)


def to_uint8_levels(images):
    """`round(255 x)` as float levels in [0, 255]."""
    return tf.round(tf.clip_by_value(images, 0.0, 1.0) * 255.0)


def posterize(images, bits):
    """Keeps the `bits [B]` most significant bits of the 8-bit levels
    (PIL `ImageOps.posterize`; 0 bits gives black, 8 the image)."""
    levels = to_uint8_levels(images)
    step = tf.pow(2.0, 8.0 - tf.cast(bits, images.dtype))
    step = _per_sample(step, images)
    return tf.floor(levels / step) * step / 255.0


def solarize(images, threshold):
    """Inverts the pixels whose 8-bit level is `>= threshold [B]` (PIL
    `ImageOps.solarize`; a threshold of 256 leaves the image as it is)."""
    levels = to_uint8_levels(images)
    threshold = _per_sample(threshold, images)
    return tf.where(levels >= threshold, 1.0 - images, images)


def solarize_add(images, addition, threshold=128.0):
    """Adds `addition [B]` (8-bit levels) to levels below `threshold`,
    saturating at 255."""
    levels = to_uint8_levels(images)
    added = tf.minimum(levels + _per_sample(addition, images), 255.0)
    return tf.where(levels < threshold, added / 255.0, images)


def invert(images):
    """`1 - x`."""
    return 1.0 - images


def autocontrast(images):
    """Stretches each channel of each image to [0, 1] (PIL
    `ImageOps.autocontrast` without cut-off); flat channels unchanged."""
    low = tf.reduce_min(images, axis=[1, 2], keepdims=True)
    high = tf.reduce_max(images, axis=[1, 2], keepdims=True)
    span = high - low
    safe = tf.where(span > 0, span, tf.ones_like(span))
    return tf.where(span > 0, (images - low) / safe, images)


def equalize(images):
    """Histogram equalisation per channel of each image (PIL
    `ImageOps.equalize`).

    With `h` the 256-bin histogram of a channel, `N` its pixel count and
    `step = (N - count of the top level) // 255`: level `i` maps to
    `min(255, (step // 2 + sum_{k < i} h_k) // step)`, or stays if
    `step == 0`.
    """
    shape = tf.shape(images)
    b, h, w = shape[0], shape[1], shape[2]
    c = images.shape[-1]
    levels = tf.cast(to_uint8_levels(images), tf.int32)
    flat = tf.reshape(tf.transpose(levels, [0, 3, 1, 2]), [b * c, h * w])
    hist = tf.math.bincount(
        flat, minlength=256, maxlength=256, axis=-1, dtype=tf.int32
    )
    top = tf.reduce_max(flat, axis=1)
    top_count = tf.gather(hist, top, batch_dims=1)
    step = (h * w - top_count) // 255
    cum = tf.cumsum(hist, axis=1, exclusive=True)
    safe_step = tf.maximum(step, 1)[:, None]
    lut = tf.minimum((safe_step // 2 + cum) // safe_step, 255)
    mapped = tf.gather(lut, flat, batch_dims=1)
    mapped = tf.where(step[:, None] > 0, mapped, flat)
    mapped = tf.transpose(tf.reshape(mapped, [b, c, h, w]), [0, 2, 3, 1])
    return tf.cast(mapped, images.dtype) / 255.0


def affine_warp(images, matrices, fill_value):
    """Warps each image by its own affine map, bilinear, per-channel fill.

    Args:
        images: `[B, H, W, C]`.
        matrices: `[B, 6]` rows `(a0, a1, a2, b0, b1, b2)` mapping an output
            pixel `(x, y)` to the input point `(a0 x + a1 y + a2,
            b0 x + b1 y + b2)` (PIL's `Image.transform` convention; x is the
            column).
        fill_value: C floats for the area that comes from outside the image.

    Returns:
        `[B, H, W, C]`.
    """
    shape = tf.shape(images)
    b = shape[0]
    ones = tf.ones_like(images[..., :1])
    stacked = tf.concat([images, ones], axis=-1)
    transforms = tf.concat(
        [tf.cast(matrices, tf.float32), tf.zeros([b, 2], tf.float32)], axis=1
    )
    warped = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.cast(stacked, tf.float32),
        transforms=transforms,
        output_shape=shape[1:3],
        fill_value=0.0,
        interpolation="BILINEAR",
        fill_mode="CONSTANT",
    )
    mask = warped[..., -1:]
    fill = tf.constant(fill_value, tf.float32)
    out = warped[..., :-1] + (1.0 - mask) * fill
    return tf.cast(out, images.dtype)


def _centre(images):
    shape = tf.shape(images)
    cy = (tf.cast(shape[1], tf.float32) - 1.0) / 2.0
    cx = (tf.cast(shape[2], tf.float32) - 1.0) / 2.0
    return cy, cx


def rotation_matrices(images, degrees):
    """Affine maps rotating each image by `degrees [B]` about its centre
    (counter-clockwise on screen for positive angles)."""
    theta = tf.cast(degrees, tf.float32) * (math.pi / 180.0)
    cos, sin = tf.cos(theta), tf.sin(theta)
    cy, cx = _centre(images)
    # input = R(-theta) (output - centre) + centre, y axis pointing down.
    a0, a1 = cos, -sin
    b0, b1 = sin, cos
    a2 = cx - a0 * cx - a1 * cy
    b2 = cy - b0 * cx - b1 * cy
    return tf.stack([a0, a1, a2, b0, b1, b2], axis=1)


def shear_matrices(images, shear, axis):
    """Affine maps shearing by `shear [B]` along x (`axis="x"`: input
    `x + shear (y - cy)`) or y, about the image centre."""
    shear = tf.cast(shear, tf.float32)
    one, zero = tf.ones_like(shear), tf.zeros_like(shear)
    cy, cx = _centre(images)
    if axis == "x":
        return tf.stack([one, shear, -shear * cy, zero, one, zero], axis=1)
    return tf.stack([one, zero, zero, shear, one, -shear * cx], axis=1)


def translation_matrices(images, fraction, axis):
    """Affine maps translating by `fraction [B]` of the width (`axis="x"`)
    or height; the content moves by `-fraction` of the size."""
    fraction = tf.cast(fraction, tf.float32)
    one, zero = tf.ones_like(fraction), tf.zeros_like(fraction)
    shape = tf.shape(images)
    if axis == "x":
        pixels = fraction * tf.cast(shape[2], tf.float32)
        return tf.stack([one, zero, pixels, zero, one, zero], axis=1)
    pixels = fraction * tf.cast(shape[1], tf.float32)
    return tf.stack([one, zero, zero, zero, one, pixels], axis=1)
