"""Differentiable colour-space conversions and the `ColorSpace` layer.

All functions take RGB (or the named space) on the last axis, any leading
shape, float values; RGB means non-linear sRGB in [0, 1] (D65 white). They
are written with `keras.ops`, have finite gradients everywhere (branches
with a pole or a cube root are evaluated on clamped inputs), and the
inverse functions invert the forward ones to float32 precision. Outputs of
inverses are not clipped: out-of-gamut values stay visible.

Definitions (written out so that the numbers can be checked):

- sRGB transfer: `lin = c / 12.92` if `c <= 0.04045` else
  `((c + 0.055) / 1.055) ** 2.4`; inverse with threshold 0.0031308.
- XYZ (D65, IEC 61966-2-1 primaries):
  `[X, Y, Z] = M @ lin`, `M = [[0.4124564, 0.3575761, 0.1804375],
  [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]`,
  white `(Xn, Yn, Zn) = (0.95047, 1, 1.08883)`.
- CIE Lab: `f(t) = t ** (1/3)` if `t > (6/29) ** 3` else
  `t / (3 (6/29) ** 2) + 4/29`; `L = 116 f(Y/Yn) - 16`,
  `a = 500 (f(X/Xn) - f(Y/Yn))`, `b = 200 (f(Y/Yn) - f(Z/Zn))`. White ->
  (100, 0, 0); pure red -> (53.24, 80.09, 67.20).
- CIE Luv: `L` as in Lab; `u' = 4X / (X + 15Y + 3Z)`,
  `v' = 9Y / (X + 15Y + 3Z)`; `u = 13 L (u' - u'n)`, `v = 13 L (v' - v'n)`
  with the white's `u'n, v'n` (black maps to (0, 0, 0)).
- HSV: hue in [0, 1) (a full turn is 1), saturation and value in [0, 1].
- YIQ (FCC NTSC): `Y = 0.299 R + 0.587 G + 0.114 B`,
  `I = 0.5959 R - 0.2746 G - 0.3213 B`, `Q = 0.2115 R - 0.5227 G + 0.3112 B`
  (the exact coefficients are those of the 33-degree rotated YUV).
- YPbPr (ITU-R BT.601): `Pb = -0.168736 R - 0.331264 G + 0.5 B`,
  `Pr = 0.5 R - 0.418688 G - 0.081312 B`.
- YCbCr: the full-range JPEG (JFIF) form scaled to [0, 1]:
  `Cb = 0.5 + Pb`, `Cr = 0.5 + Pr`. (scikit-image's `rgb2ycbcr` is the
  studio-swing form on a 0-255 scale, `16 + 219 Y`, `128 + 224 Pb`, ...;
  the two differ by a fixed affine map per channel.)
- YDbDr (SECAM): `Db = -0.450 R - 0.883 G + 1.333 B`,
  `Dr = -1.333 R + 1.116 G + 0.217 B`.

`color_space_range(space)` gives, per channel, the range that the RGB cube
maps to (rounded outwards); `ColorSpace(..., normalize=True)` uses it to map
every channel to about [0, 1].
"""

import math

import keras
import numpy as np
from keras import ops

from keras_infomin.utils import register

COLOR_SPACES = (
    "rgb",
    "xyz",
    "lab",
    "luv",
    "hsv",
    "yiq",
    "ycbcr",
    "ydbdr",
    "ypbpr",
)

_XYZ_FROM_LINEAR = np.array(
    [
        [0.4124564, 0.3575761, 0.1804375],
        [0.2126729, 0.7151522, 0.0721750],
        [0.0193339, 0.1191920, 0.9503041],
    ]
)
_WHITE = (0.95047, 1.0, 1.08883)

# YUV (BT.601 analogue): U = 0.492111 (B - Y), V = 0.877283 (R - Y); YIQ is
# YUV rotated by 33 degrees: I = -U sin 33 + V cos 33, Q = U cos 33 + V sin 33.
_LUMA = np.array([0.299, 0.587, 0.114])


def _yiq_matrix():
    u = 0.492111 * (np.array([0.0, 0.0, 1.0]) - _LUMA)
    v = 0.877283 * (np.array([1.0, 0.0, 0.0]) - _LUMA)
    angle = math.radians(33.0)
    i = -u * math.sin(angle) + v * math.cos(angle)
    q = u * math.cos(angle) + v * math.sin(angle)
    return np.stack([_LUMA, i, q])


_YIQ_FROM_RGB = _yiq_matrix()
_YPBPR_FROM_RGB = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.168736, -0.331264, 0.5],
        [0.5, -0.418688, -0.081312],
    ]
)
_YDBDR_FROM_RGB = np.array(
    [
        [0.299, 0.587, 0.114],
        [-0.450, -0.883, 1.333],
        [-1.333, 1.116, 0.217],
    ]
)
_YCBCR_OFFSET = np.array([0.0, 0.5, 0.5])

# Per-channel (low, high) of the RGB cube's image, rounded outwards.
_RANGES = {
    "rgb": ((0.0, 1.0), (0.0, 1.0), (0.0, 1.0)),
    "xyz": ((0.0, 0.9505), (0.0, 1.0), (0.0, 1.0889)),
    "lab": ((0.0, 100.0), (-86.2, 98.3), (-107.9, 94.5)),
    "luv": ((0.0, 100.0), (-83.1, 175.1), (-134.2, 107.5)),
    "hsv": ((0.0, 1.0), (0.0, 1.0), (0.0, 1.0)),
    "yiq": ((0.0, 1.0), (-0.5959, 0.5959), (-0.5227, 0.5227)),
    "ycbcr": ((0.0, 1.0), (0.0, 1.0), (0.0, 1.0)),
    "ydbdr": ((0.0, 1.0), (-1.333, 1.333), (-1.333, 1.333)),
    "ypbpr": ((0.0, 1.0), (-0.5, 0.5), (-0.5, 0.5)),
}

_DELTA = 6.0 / 29.0


def _check_space(name, space):
    if not isinstance(space, str) or space.lower() not in COLOR_SPACES:
        raise ValueError(
            f"`{name}` must be one of {COLOR_SPACES}; received "
            f"{name}={space!r}."
        )
    return space.lower()


def color_space_range(space):
    """Per-channel `(low, high)` of the sRGB cube mapped into `space`."""
    return _RANGES[_check_space("space", space)]


def _apply_matrix(x, matrix, offset=None):
    x = ops.convert_to_tensor(x)
    m = ops.convert_to_tensor(np.asarray(matrix).T, dtype=x.dtype)
    y = ops.matmul(x, m)
    if offset is not None:
        y = y + ops.convert_to_tensor(offset, dtype=x.dtype)
    return y


def _split(x):
    return x[..., 0], x[..., 1], x[..., 2]


def srgb_to_linear(x):
    """sRGB transfer function, from encoded [0, 1] to linear light."""
    x = ops.convert_to_tensor(x)
    high = ops.power(ops.maximum((x + 0.055) / 1.055, 0.0), 2.4)
    return ops.where(x <= 0.04045, x / 12.92, high)


def linear_to_srgb(x):
    """Inverse of `srgb_to_linear`."""
    x = ops.convert_to_tensor(x)
    high = 1.055 * ops.power(ops.maximum(x, 0.0031308), 1.0 / 2.4) - 0.055
    return ops.where(x <= 0.0031308, x * 12.92, high)


def rgb_to_xyz(rgb):
    """sRGB in [0, 1] to CIE XYZ (D65, Y of white = 1)."""
    return _apply_matrix(srgb_to_linear(rgb), _XYZ_FROM_LINEAR)


def xyz_to_rgb(xyz):
    """CIE XYZ (D65) to sRGB."""
    return linear_to_srgb(_apply_matrix(xyz, np.linalg.inv(_XYZ_FROM_LINEAR)))


def _lab_f(t):
    cube_root = ops.power(ops.maximum(t, _DELTA**3), 1.0 / 3.0)
    return ops.where(t > _DELTA**3, cube_root, t / (3 * _DELTA**2) + 4.0 / 29.0)


def _lab_f_inverse(u):
    return ops.where(u > _DELTA, u * u * u, 3 * _DELTA**2 * (u - 4.0 / 29.0))


def xyz_to_lab(xyz):
    """CIE XYZ (D65) to CIE Lab."""
    x, y, z = _split(ops.convert_to_tensor(xyz))
    fx = _lab_f(x / _WHITE[0])
    fy = _lab_f(y / _WHITE[1])
    fz = _lab_f(z / _WHITE[2])
    return ops.stack(
        [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], axis=-1
    )


def lab_to_xyz(lab):
    """CIE Lab to CIE XYZ (D65)."""
    l_, a, b = _split(ops.convert_to_tensor(lab))
    fy = (l_ + 16.0) / 116.0
    fx = fy + a / 500.0
    fz = fy - b / 200.0
    return ops.stack(
        [
            _WHITE[0] * _lab_f_inverse(fx),
            _WHITE[1] * _lab_f_inverse(fy),
            _WHITE[2] * _lab_f_inverse(fz),
        ],
        axis=-1,
    )


def rgb_to_lab(rgb):
    """sRGB in [0, 1] to CIE Lab (D65): L in [0, 100]."""
    return xyz_to_lab(rgb_to_xyz(rgb))


def lab_to_rgb(lab):
    """CIE Lab (D65) to sRGB."""
    return xyz_to_rgb(lab_to_xyz(lab))


def _white_uv():
    xn, yn, zn = (float(w) for w in _WHITE)
    d = xn + 15 * yn + 3 * zn
    return 4 * xn / d, 9 * yn / d


def xyz_to_luv(xyz):
    """CIE XYZ (D65) to CIE Luv."""
    x, y, z = _split(ops.convert_to_tensor(xyz))
    un, vn = _white_uv()
    light = 116.0 * _lab_f(y / _WHITE[1]) - 16.0
    denom = x + 15.0 * y + 3.0 * z
    positive = denom > 1e-12
    safe = ops.where(positive, denom, 1.0)
    u_prime = ops.where(positive, 4.0 * x / safe, un)
    v_prime = ops.where(positive, 9.0 * y / safe, vn)
    return ops.stack(
        [light, 13.0 * light * (u_prime - un), 13.0 * light * (v_prime - vn)],
        axis=-1,
    )


def luv_to_xyz(luv):
    """CIE Luv to CIE XYZ (D65)."""
    light, u, v = _split(ops.convert_to_tensor(luv))
    un, vn = _white_uv()
    positive = light > 1e-8
    safe_l = ops.where(positive, light, 1.0)
    u_prime = u / (13.0 * safe_l) + un
    v_prime = v / (13.0 * safe_l) + vn
    y = _WHITE[1] * _lab_f_inverse((light + 16.0) / 116.0)
    safe_v = ops.where(ops.abs(v_prime) > 1e-12, v_prime, 1e-12)
    x = y * 9.0 * u_prime / (4.0 * safe_v)
    z = y * (12.0 - 3.0 * u_prime - 20.0 * v_prime) / (4.0 * safe_v)
    zero = ops.zeros_like(y)
    return ops.stack(
        [
            ops.where(positive, x, zero),
            ops.where(positive, y, zero),
            ops.where(positive, z, zero),
        ],
        axis=-1,
    )


def rgb_to_luv(rgb):
    """sRGB in [0, 1] to CIE Luv (D65)."""
    return xyz_to_luv(rgb_to_xyz(rgb))


def luv_to_rgb(luv):
    """CIE Luv (D65) to sRGB."""
    return xyz_to_rgb(luv_to_xyz(luv))


def rgb_to_hsv(rgb):
    """sRGB in [0, 1] to HSV with hue in [0, 1)."""
    rgb = ops.convert_to_tensor(rgb)
    r, g, b = _split(rgb)
    # Elementwise (not ops.max): works on empty batches too.
    maxc = ops.maximum(ops.maximum(r, g), b)
    minc = ops.minimum(ops.minimum(r, g), b)
    delta = maxc - minc
    has_delta = delta > 0
    safe_delta = ops.where(has_delta, delta, 1.0)
    safe_max = ops.where(maxc > 0, maxc, 1.0)
    saturation = ops.where(maxc > 0, delta / safe_max, 0.0)
    rc = (maxc - r) / safe_delta
    gc = (maxc - g) / safe_delta
    bc = (maxc - b) / safe_delta
    hue = ops.where(
        r >= maxc,
        bc - gc,
        ops.where(g >= maxc, 2.0 + rc - bc, 4.0 + gc - rc),
    )
    hue = ops.mod(hue / 6.0, 1.0)
    hue = ops.where(has_delta, hue, 0.0)
    return ops.stack([hue, saturation, maxc], axis=-1)


def hsv_to_rgb(hsv):
    """HSV (hue in [0, 1)) to sRGB.

    Uses `c(n) = v - v s max(0, min(k, 4 - k, 1))` with
    `k = (n + 6 h) mod 6` and `n = 5, 3, 1` for red, green, blue.
    """
    h, s, v = _split(ops.convert_to_tensor(hsv))

    def channel(n):
        k = ops.mod(n + 6.0 * h, 6.0)
        w = ops.clip(ops.minimum(k, 4.0 - k), 0.0, 1.0)
        return v - v * s * w

    return ops.stack([channel(5.0), channel(3.0), channel(1.0)], axis=-1)


def rgb_to_yiq(rgb):
    """sRGB to YIQ (FCC NTSC)."""
    return _apply_matrix(rgb, _YIQ_FROM_RGB)


def yiq_to_rgb(yiq):
    """YIQ to sRGB."""
    return _apply_matrix(yiq, np.linalg.inv(_YIQ_FROM_RGB))


def rgb_to_ypbpr(rgb):
    """sRGB to YPbPr (ITU-R BT.601)."""
    return _apply_matrix(rgb, _YPBPR_FROM_RGB)


def ypbpr_to_rgb(ypbpr):
    """YPbPr (BT.601) to sRGB."""
    return _apply_matrix(ypbpr, np.linalg.inv(_YPBPR_FROM_RGB))


def rgb_to_ycbcr(rgb):
    """sRGB to full-range (JFIF) YCbCr in [0, 1]."""
    return _apply_matrix(rgb, _YPBPR_FROM_RGB, _YCBCR_OFFSET)


def ycbcr_to_rgb(ycbcr):
    """Full-range (JFIF) YCbCr in [0, 1] to sRGB."""
    x = ops.convert_to_tensor(ycbcr)
    x = x - ops.convert_to_tensor(_YCBCR_OFFSET, dtype=x.dtype)
    return _apply_matrix(x, np.linalg.inv(_YPBPR_FROM_RGB))


def rgb_to_ydbdr(rgb):
    """sRGB to YDbDr (SECAM)."""
    return _apply_matrix(rgb, _YDBDR_FROM_RGB)


def ydbdr_to_rgb(ydbdr):
    """YDbDr to sRGB."""
    return _apply_matrix(ydbdr, np.linalg.inv(_YDBDR_FROM_RGB))


def _identity(x):
    return ops.convert_to_tensor(x)


_FROM_RGB = {
    "rgb": _identity,
    "xyz": rgb_to_xyz,
    "lab": rgb_to_lab,
    "luv": rgb_to_luv,
    "hsv": rgb_to_hsv,
    "yiq": rgb_to_yiq,
    "ycbcr": rgb_to_ycbcr,
    "ydbdr": rgb_to_ydbdr,
    "ypbpr": rgb_to_ypbpr,
}
_TO_RGB = {
    "rgb": _identity,
    "xyz": xyz_to_rgb,
    "lab": lab_to_rgb,
    "luv": luv_to_rgb,
    "hsv": hsv_to_rgb,
    "yiq": yiq_to_rgb,
    "ycbcr": ycbcr_to_rgb,
    "ydbdr": ydbdr_to_rgb,
    "ypbpr": ypbpr_to_rgb,
}


def normalize_color(x, space):
    """Maps each channel of `space` linearly from its RGB-cube range to
    [0, 1] (see `color_space_range`)."""
    low, high = np.asarray(color_space_range(space)).T
    x = ops.convert_to_tensor(x)
    low = ops.convert_to_tensor(low, dtype=x.dtype)
    high = ops.convert_to_tensor(high, dtype=x.dtype)
    return (x - low) / (high - low)


def denormalize_color(x, space):
    """Inverse of `normalize_color`."""
    low, high = np.asarray(color_space_range(space)).T
    x = ops.convert_to_tensor(x)
    low = ops.convert_to_tensor(low, dtype=x.dtype)
    high = ops.convert_to_tensor(high, dtype=x.dtype)
    return x * (high - low) + low


def convert_color(x, source, target):
    """Converts `x` from colour space `source` to `target` (through RGB).

    Args:
        x: float tensor with 3 channels on the last axis.
        source, target: names from `COLOR_SPACES`.

    Returns:
        Tensor of the same shape.

    Example:

    ```python
    lab = convert_color(images, "rgb", "lab")
    rgb = convert_color(lab, "lab", "rgb")
    ```
    """
    source = _check_space("source", source)
    target = _check_space("target", target)
    if source == target:
        return ops.convert_to_tensor(x)
    return _FROM_RGB[target](_TO_RGB[source](x))


@register
class ColorSpace(keras.layers.Layer):
    """Converts RGB images to another colour space (or back).

    A deterministic, differentiable layer (no weights), usable in a model,
    a `tf.data` map or a `tf.function`. Under a mixed dtype policy the
    conversion is computed in float32 (cube roots and powers lose too
    much in 16 bits) and returned in the compute dtype.

    Args:
        space: target colour space, one of `COLOR_SPACES` (`"lab"`,
            `"ydbdr"`, `"ycbcr"`, ...).
        inverse: if True, converts from `space` to RGB instead.
        normalize: if True, maps every channel linearly from the range the
            RGB cube covers in `space` (see `color_space_range`) to [0, 1];
            with `inverse=True`, the inputs are taken as normalised.
        **kwargs: `keras.layers.Layer` arguments.

    Input shape:
        `[..., 3]` float, RGB in [0, 1] (or `space` values if `inverse`).

    Output shape:
        Same as input.

    Example:

    ```python
    lab = ColorSpace("lab")(images)           # L in [0, 100]
    rgb = ColorSpace("lab", inverse=True)(lab)
    ```
    """

    def __init__(self, space, inverse=False, normalize=False, **kwargs):
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.space = _check_space("space", space)
        self.inverse = bool(inverse)
        self.normalize = bool(normalize)

    def build(self, input_shape):
        if input_shape[-1] != 3:
            raise ValueError(
                f"ColorSpace expects 3 channels on the last axis; received "
                f"input shape {tuple(input_shape)}."
            )
        self.built = True

    def call(self, inputs):
        if inputs.shape[-1] != 3:
            raise ValueError(
                f"ColorSpace expects 3 channels on the last axis; received "
                f"input shape {tuple(inputs.shape)}."
            )
        # 16-bit compute dtypes convert in float32.
        work = self.compute_dtype
        if work in ("float16", "bfloat16"):
            work = "float32"
        x = ops.cast(inputs, work)
        if self.inverse:
            if self.normalize:
                x = denormalize_color(x, self.space)
            out = convert_color(x, self.space, "rgb")
        else:
            out = convert_color(x, "rgb", self.space)
            if self.normalize:
                out = normalize_color(out, self.space)
        return ops.cast(out, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "space": self.space,
                "inverse": self.inverse,
                "normalize": self.normalize,
            }
        )
        return config


_DEFAULT_GROUPS = {
    "rgb": ((0,), (1,), (2,)),
    "xyz": ((1,), (0, 2)),
    "hsv": ((2,), (0, 1)),
}


@register
class ChannelSplit(keras.layers.Layer):
    """CMC-style views: convert to a colour space, split the channels.

    Contrastive Multiview Coding (Tian et al. 2019) and InfoMin treat the
    luminance and chrominance of an image as two views, for example L | ab
    in Lab or Y | DbDr in YDbDr. This layer converts RGB images and returns
    one tensor per channel group.

    Args:
        space: colour space name (see `COLOR_SPACES`).
        groups: tuple of channel-index tuples, one per view, e.g.
            `((0,), (1, 2))`. Default: luminance first vs the other two
            channels (`(0,)`, `(1, 2)`) for Lab, Luv, YIQ, YCbCr, YDbDr and
            YPbPr; `(1,)` vs `(0, 2)` for XYZ; value vs hue and saturation
            for HSV; one view per channel for RGB. Every channel index must
            lie in [0, 3).
        normalize: map channels to about [0, 1] first (see `ColorSpace`).
        **kwargs: `keras.layers.Layer` arguments.

    Returns:
        A tuple of tensors `[..., len(group)]`.

    Example:

    ```python
    luminance, chroma = ChannelSplit("ydbdr")(images)  # [B,H,W,1], [B,H,W,2]
    ```
    """

    def __init__(self, space="lab", groups=None, normalize=True, **kwargs):
        kwargs.setdefault("autocast", False)  # `convert` casts
        super().__init__(**kwargs)
        self.space = _check_space("space", space)
        if groups is None:
            groups = _DEFAULT_GROUPS.get(self.space, ((0,), (1, 2)))
        ok = isinstance(groups, (tuple, list)) and len(groups) >= 1
        ok = ok and all(
            isinstance(g, (tuple, list))
            and len(g) >= 1
            and all(isinstance(i, int) and 0 <= i < 3 for i in g)
            for g in groups
        )
        if not ok:
            raise ValueError(
                "`groups` must be a non-empty tuple of non-empty tuples of "
                f"channel indices in [0, 3); received groups={groups!r}."
            )
        self.groups = tuple(tuple(int(i) for i in g) for g in groups)
        self.normalize = bool(normalize)
        self.convert = ColorSpace(
            self.space,
            normalize=self.normalize,
            dtype=self.dtype_policy,
            name="convert",
        )

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) < 3 or shape[-1] != 3:
            raise ValueError(
                "ChannelSplit expects RGB images with 3 channels (last "
                "axis), [..., height, width, 3]; "
                f"received shape {shape}."
            )
        self.convert.build(input_shape)
        self.built = True

    def call(self, inputs):
        converted = self.convert(inputs)
        views = []
        for group in self.groups:
            if len(group) == 1:
                views.append(converted[..., group[0] : group[0] + 1])
            else:
                views.append(ops.take(converted, list(group), axis=-1))
        return tuple(views)

    def compute_output_shape(self, input_shape):
        return tuple(tuple(input_shape[:-1]) + (len(g),) for g in self.groups)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "space": self.space,
                "groups": [list(g) for g in self.groups],
                "normalize": self.normalize,
            }
        )
        return config
