import math

import numpy as np
import pytest

from keras_infomin import data

LUMINANCE = np.ones(3) / math.sqrt(3.0)
CHROMA = np.array([1.0, -1.0, 0.0]) / math.sqrt(2.0)
OTHER = np.array([1.0, 1.0, -2.0]) / math.sqrt(6.0)


def _neighbour_correlation(planes):
    """Correlation of horizontally adjacent pixels, images pooled."""
    centred = planes - planes.mean(axis=(1, 2), keepdims=True)
    a, b = centred[:, :, :-1].ravel(), centred[:, :, 1:].ravel()
    return float(np.corrcoef(a, b)[0, 1])


def test_the_components_along_the_three_colour_directions():
    images, labels = data.shared_nuisance_images(
        600, nuisance=0.15, signal=0.05, noise=0.03, seed=0
    )
    assert images.shape == (600, 16, 16, 3) and images.dtype == np.float32
    assert labels.shape == (600,) and set(labels) == {0, 1, 2, 3}
    assert images.min() >= 0.0 and images.max() <= 1.0
    x = images.astype("float64")
    luminance, chroma, other = (x @ d for d in (LUMINANCE, CHROMA, OTHER))
    # The nuisance: a smooth field of spatial std a * sqrt(3) along
    # (1, 1, 1), one new field per image.
    spread = luminance.std(axis=(1, 2))
    assert np.median(spread) == pytest.approx(0.15 * math.sqrt(3), rel=0.05)
    assert _neighbour_correlation(luminance) > 0.8
    # The class: the mean along d is b * l_c, l_c = -1, -1/3, 1/3, 1.
    levels = -1.0 + 2.0 * np.arange(4) / 3.0
    for c, level in enumerate(levels):
        means = chroma[labels == c].mean(axis=(1, 2))
        np.testing.assert_allclose(means, 0.05 * level, atol=0.01)
    # Orthogonal to both: the pixel noise alone, white.
    assert other.std() == pytest.approx(0.03, rel=0.05)
    assert abs(_neighbour_correlation(other)) < 0.05
    assert chroma.std(axis=(1, 2)).mean() == pytest.approx(0.03, rel=0.1)


def test_seeded_and_sized():
    a = data.shared_nuisance_images(8, size=12, num_classes=3, seed=1)
    b = data.shared_nuisance_images(8, size=12, num_classes=3, seed=1)
    c = data.shared_nuisance_images(8, size=12, num_classes=3, seed=2)
    assert a[0].shape == (8, 12, 12, 3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])
    assert a[1].max() < 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"count": 0}, "count"),
        ({"size": 2.5}, "size"),
        ({"num_classes": 1}, "num_classes"),
        ({"noise": -0.1}, "noise"),
        ({"frequencies": 0}, "frequencies"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        data.shared_nuisance_images(**{"count": 4, **kwargs})
