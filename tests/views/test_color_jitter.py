"""ColorJitter: each change against its definition, random order per
sample against a numpy/matplotlib reference of every order."""

import itertools

import numpy as np
import pytest
from matplotlib.colors import hsv_to_rgb
from matplotlib.colors import rgb_to_hsv

from keras_infomin.testing import run_layer_test
from keras_infomin.views import ColorJitter
from tests.views.helpers import binomial_tolerance
from tests.views.helpers import check_graph_modes
from tests.views.helpers import check_seeded_rebuild
from tests.views.helpers import random_images

LUMA = np.array([0.299, 0.587, 0.114])


def np_brightness(x, f):
    return np.clip(x * f, 0, 1)


def np_contrast(x, f):
    mean = (x @ LUMA).mean()
    return np.clip(mean + f * (x - mean), 0, 1)


def np_saturation(x, f):
    gray = (x @ LUMA)[..., None]
    return np.clip(gray + f * (x - gray), 0, 1)


def np_hue(x, shift):
    hsv = rgb_to_hsv(x)
    hsv[..., 0] = (hsv[..., 0] + shift) % 1.0
    return np.clip(hsv_to_rgb(hsv), 0, 1)


def test_brightness_factors_are_per_sample_uniform():
    n = 2000
    base = random_images((1, 3, 3, 3)) * 0.5 + 0.1
    images = np.repeat(base, n, axis=0)
    out = np.asarray(ColorJitter(brightness=0.5)(images))
    ratio = out / images
    f = ratio.reshape(n, -1)
    unclipped = out.reshape(n, -1) < 1.0
    spread = np.where(unclipped, f, np.nan)
    assert np.nanmax(np.nanstd(spread, axis=1)) < 1e-5  # one f per sample
    f = np.nanmean(spread, axis=1)
    assert f.min() >= 0.5 - 1e-5 and f.max() <= 1.5 + 1e-5
    # f ~ U[0.5, 1.5]: mean 1, variance 1 / 12.
    assert abs(f.mean() - 1.0) < 4.5 * np.sqrt(1 / 12 / n)
    assert abs(f.var() - 1 / 12) < 0.01


@pytest.mark.parametrize(
    "kwargs,reference,low,high",
    [
        ({"contrast": 0.8}, np_contrast, 0.2, 1.8),
        ({"saturation": (0.0, 2.0)}, np_saturation, 0.0, 2.0),
    ],
)
def test_single_blend_changes_match_definition(kwargs, reference, low, high):
    images = random_images((40, 4, 4, 3)) * 0.6 + 0.2
    out = np.asarray(ColorJitter(**kwargs)(images))
    grid = np.linspace(low, high, 4001)
    for x, y in zip(images, out):
        errors = [np.abs(reference(x, f) - y).max() for f in grid[::40]]
        best = grid[::40][int(np.argmin(errors))]
        fine = grid[(grid > best - 0.03) & (grid < best + 0.03)]
        error = min(np.abs(reference(x, f) - y).max() for f in fine)
        assert error < 2e-3


def test_hue_shift_matches_matplotlib_hsv():
    images = random_images((30, 3, 3, 3))
    out = np.asarray(ColorJitter(hue=0.3)(images))
    for x, y in zip(images, out):
        shift = (rgb_to_hsv(y)[0, 0, 0] - rgb_to_hsv(x)[0, 0, 0]) % 1.0
        shift = shift - 1.0 if shift > 0.5 else shift
        assert abs(shift) <= 0.3 + 1e-4
        np.testing.assert_allclose(y, np_hue(x, shift), atol=1e-4)


def test_random_order_per_sample_covers_all_orders():
    factors = {
        "brightness": 1.6,
        "contrast": 0.5,
        "saturation": 0.3,
        "hue": 0.2,
    }
    refs = {
        "brightness": np_brightness,
        "contrast": np_contrast,
        "saturation": np_saturation,
        "hue": np_hue,
    }
    base = random_images((2, 2, 3), seed=7).astype("float64")
    outputs = {}
    for order in itertools.permutations(factors):
        x = base
        for name in order:
            x = refs[name](x, factors[name])
        outputs[order] = x
    n = 480
    images = np.repeat(base[None].astype("float32"), n, axis=0)
    layer = ColorJitter(
        brightness=(1.6, 1.6),
        contrast=(0.5, 0.5),
        saturation=(0.3, 0.3),
        hue=(0.2, 0.2),
        seed=3,
    )
    out = np.asarray(layer(images))
    matched = []
    for y in out:
        errors = {o: np.abs(r - y).max() for o, r in outputs.items()}
        order = min(errors, key=errors.get)
        assert errors[order] < 1e-4
        matched.append(order)
    counts = {o: matched.count(o) for o in outputs}
    # Orders with distinct outputs appear about n / 24 times each.
    distinct = [
        o
        for o in outputs
        if all(
            np.abs(outputs[o] - outputs[p]).max() > 1e-3
            for p in outputs
            if p != o
        )
    ]
    assert len(distinct) >= 12
    for o in distinct:
        assert abs(counts[o] / n - 1 / 24) <= binomial_tolerance(n, 1 / 24)


def test_layer_contract():
    images = random_images((4, 8, 8, 3))
    layer = ColorJitter(0.8, 0.8, 0.8, 0.2, seed=1)
    run_layer_test(layer, (images,), call_kwargs={"training": False})
    out = check_graph_modes(layer, images)
    assert np.all((out >= 0) & (out <= 1))
    check_seeded_rebuild(layer, images)
    gray = random_images((4, 8, 8, 1))
    assert ColorJitter(0.4, 0.4, 0.4, 0.1)(gray).shape == (4, 8, 8, 1)
    assert np.array_equal(layer(images, training=False), images)


def test_bad_inputs():
    with pytest.raises(ValueError, match="brightness"):
        ColorJitter(brightness=-0.1)
    with pytest.raises(ValueError, match="hue"):
        ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="contrast"):
        ColorJitter(contrast=(1.5, 0.5))
    with pytest.raises(ValueError, match="channels"):
        ColorJitter(0.4)(np.zeros((2, 4, 4, 2), "float32"))
