"""A colour toy for learned views: a strong nuisance both views share.

Raw channel splits of natural images share much more than the label: the
brightness pattern of the scene is in every channel. This toy isolates
that. Each 16x16 RGB image is

    x(p) = 0.5 + a n(p) (1, 1, 1) + b l_c d + s e(p),   clipped to [0, 1]

with `n` a smooth random brightness field of unit variance (low spatial
frequencies, new for every image: the nuisance), `l_c` the class's level
in [-1, 1] along the chroma direction `d = (1, -1, 0) / sqrt(2)`
(orthogonal to the nuisance: the weak class signal) and `e(p)` white noise
on every pixel and channel. The raw split R | GB shares the whole
brightness field, so fresh encoders find a high I_NCE between its views
(about 4.6 nats at batch 128 with the defaults below, cap 4.85). A colour
map that takes channel 0 to a chroma direction removes the field from view
1: the views then share only the class level, if that (an invertible
pixel-wise map can do it, so an InfoMin view generator can learn it).
"""

import math

import numpy as np

from keras_infomin.utils.validation import check_int
from keras_infomin.utils.validation import check_positive

CHROMA = np.array([1.0, -1.0, 0.0]) / math.sqrt(2.0)


def _fields(rng, count, size, frequencies):
    """Smooth random fields `[count, size, size]`, unit variance each."""
    grid = 2.0 * math.pi * np.arange(size) / size
    field = np.zeros((count, size, size))
    for fy in range(frequencies):
        for fx in range(frequencies):
            amplitude = rng.normal(size=(count, 1, 1))
            phase = rng.uniform(0.0, 2.0 * math.pi, (count, 1, 1))
            wave = fy * grid[:, None] + fx * grid[None, :]
            field += amplitude * np.cos(wave[None] + phase)
    return field / (field.std(axis=(1, 2), keepdims=True) + 1e-8)


def shared_nuisance_images(
    count=4096,
    size=16,
    num_classes=4,
    nuisance=0.15,
    signal=0.05,
    noise=0.03,
    frequencies=3,
    seed=None,
):
    """Images whose colour channels share a strong nuisance (see module).

    Args:
        count: number of images.
        size: height and width in pixels.
        num_classes: number of classes; class `c` has the chroma level
            `l_c = -1 + 2 c / (num_classes - 1)`.
        nuisance: amplitude `a` of the brightness field along (1, 1, 1).
        signal: amplitude `b` of the class level along `d`.
        noise: standard deviation `s` of the pixel noise.
        frequencies: the field sums cosines of `frequencies^2` spatial
            frequencies `(fy, fx)` in `[0, frequencies)^2` cycles per image.
        seed: int or `numpy.random.Generator`.

    Returns:
        `(images, labels)`: float32 `[count, size, size, 3]` in [0, 1] and
        int64 `[count]` class indices.

    Example:

    >>> images, labels = shared_nuisance_images(8, seed=0)
    >>> images.shape, labels.shape
    ((8, 16, 16, 3), (8,))
    """
    check_int("count", count, 1)
    check_int("size", size, 1)
    check_int("num_classes", num_classes, 2)
    check_int("frequencies", frequencies, 1)
    for name, value in (
        ("nuisance", nuisance),
        ("signal", signal),
        ("noise", noise),
    ):
        check_positive(name, value, allow_zero=True)
    rng = seed if isinstance(seed, np.random.Generator) else None
    rng = rng or np.random.default_rng(seed)
    labels = rng.integers(0, num_classes, count)
    field = _fields(rng, count, size, frequencies)
    level = -1.0 + 2.0 * labels / (num_classes - 1)
    images = (
        0.5
        + nuisance * field[..., None] * np.ones(3)
        + signal * level[:, None, None, None] * CHROMA
        + noise * rng.normal(size=(count, size, size, 3))
    )
    return np.clip(images, 0.0, 1.0).astype("float32"), labels.astype("int64")
