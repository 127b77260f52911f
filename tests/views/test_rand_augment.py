"""RandAugment: each operation against PIL (ImageOps / ImageEnhance) or a
coordinate-ramp check, per-sample operation choice, apply rate."""

import math

import numpy as np
import pytest
from PIL import Image
from PIL import ImageEnhance
from PIL import ImageOps

from keras_infomin.testing import run_layer_test
from keras_infomin.views import RandAugment
from tests.views.helpers import binomial_tolerance
from tests.views.helpers import check_graph_modes
from tests.views.helpers import check_seeded_rebuild
from tests.views.helpers import random_images


def uint8_images(n=4, size=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, size, size, 3)).astype("uint8")


def single_op(name, magnitude):
    return RandAugment(
        num_ops=1, magnitude=magnitude, magnitude_std=0.0, rate=1.0, ops=[name]
    )


def run_single(name, magnitude, images8):
    out = single_op(name, magnitude)(images8.astype("float32") / 255.0)
    return np.asarray(out) * 255.0


PIL_REFERENCES = (
    ("equalize", 10, ImageOps.equalize, 1e-3),
    ("invert", 10, ImageOps.invert, 1e-3),
    ("posterize", 10, lambda im: ImageOps.posterize(im, 4), 1e-3),
    ("posterize", 5, lambda im: ImageOps.posterize(im, 2), 1e-3),
    ("solarize", 5, lambda im: ImageOps.solarize(im, 128), 1e-3),
    ("solarize", 10, lambda im: im, 1e-3),  # threshold 256: no-op
    ("auto_contrast", 10, ImageOps.autocontrast, 1.01),
    (
        "brightness",
        10,
        lambda im: ImageEnhance.Brightness(im).enhance(1.9),
        1.01,
    ),
    (
        "color",
        10,
        lambda im: ImageEnhance.Color(im).enhance(1.9),
        2.01,
    ),
    (
        "contrast",
        5,
        lambda im: ImageEnhance.Contrast(im).enhance(1.0),
        1.01,
    ),
    (
        "contrast",
        0,
        lambda im: ImageEnhance.Contrast(im).enhance(0.1),
        1.51,  # PIL rounds the mean to an integer level
    ),
    (
        "sharpness",
        10,
        lambda im: ImageEnhance.Sharpness(im).enhance(1.9),
        2.01,
    ),
)


def test_operations_match_pil():
    for name, magnitude, pil, atol in PIL_REFERENCES:
        images = uint8_images()
        if name == "auto_contrast":
            images = (images // 2 + 40).astype("uint8")
        ours = run_single(name, magnitude, images)
        expected = np.stack(
            [np.asarray(pil(Image.fromarray(im)), "float32") for im in images]
        )
        np.testing.assert_allclose(
            ours, expected, atol=atol, err_msg=f"{name} m={magnitude}"
        )


def test_solarize_add_matches_definition():
    images = uint8_images()
    ours = run_single("solarize_add", 10, images)
    levels = images.astype("float32")
    expected = np.where(levels < 128, np.minimum(levels + 110, 255), levels)
    np.testing.assert_allclose(ours, expected, atol=1e-3)


def ramp_images(n, size=33):
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    ramp = np.stack([rows, cols, np.zeros_like(rows)], -1) / (size - 1)
    return np.repeat(ramp[None].astype("float32"), n, axis=0)


def interior(out, margin=8):
    return out[:, margin:-margin, margin:-margin]


@pytest.mark.parametrize("magnitude", [5.0, 10.0])
def test_rotation_angle_from_ramps(magnitude):
    size = 33
    images = ramp_images(8, size)
    out = interior(
        np.asarray(single_op("rotate", magnitude)(images)) * (size - 1)
    )
    c = (size - 1) / 2
    ys, xs = np.meshgrid(np.arange(8, size - 8), np.arange(8, size - 8))
    ys, xs = ys.T - c, xs.T - c
    for sample in out:
        # Source coordinates (y, x) of each output pixel: a rotation.
        sy, sx = sample[..., 0] - c, sample[..., 1] - c
        angle = math.degrees(
            math.atan2(np.sum(xs * sy - ys * sx), np.sum(xs * sx + ys * sy))
        )
        assert abs(abs(angle) - 30 * magnitude / 10) < 0.5


@pytest.mark.parametrize("axis", ["x", "y"])
def test_shear_and_translation_from_ramps(axis):
    size = 33
    c = (size - 1) / 2
    images = ramp_images(8, size)
    sheared = interior(
        np.asarray(single_op("shear_" + axis, 10)(images)) * (size - 1)
    )
    moved = interior(
        np.asarray(single_op("translate_" + axis, 2)(images)) * (size - 1)
    )
    grid = np.arange(8, size - 8)
    for s_img, t_img in zip(sheared, moved):
        if axis == "x":
            # source x = x + s (y - cy): slope along rows is s.
            slope = np.polyfit(grid - c, s_img[:, 0, 1], 1)[0]
            shift = t_img[..., 1] - grid[None, :]
        else:
            slope = np.polyfit(grid - c, s_img[0, :, 0], 1)[0]
            shift = t_img[..., 0] - grid[:, None]
        assert abs(abs(slope) - 0.3) < 1e-3
        np.testing.assert_allclose(np.abs(shift), 0.09 * size, atol=1e-3)


def test_operations_are_drawn_per_sample():
    images = np.repeat(random_images((1, 16, 16, 3)), 64, axis=0)
    out = np.asarray(RandAugment(rate=1.0, magnitude_std=0.0)(images))
    assert len({o.tobytes() for o in out}) > 40


@pytest.mark.parametrize("num_ops", [1, 2])
def test_apply_rate(num_ops):
    n = 3000
    images = random_images((n, 2, 2, 3))
    out = np.asarray(
        RandAugment(num_ops=num_ops, rate=0.5, ops=["invert"])(images)
    )
    inverted = np.all(np.abs(out - (1 - images)) < 1e-6, axis=(1, 2, 3))
    # One round: p = 0.5; two rounds: inverted iff exactly one applies.
    assert abs(inverted.mean() - 0.5) <= binomial_tolerance(n, 0.5)


def test_layer_contract():
    images = random_images((4, 16, 16, 3))
    layer = RandAugment(seed=2)
    run_layer_test(layer, (images,), call_kwargs={"training": False})
    out = check_graph_modes(layer, images)
    assert np.all((out >= 0) & (out <= 1))
    check_seeded_rebuild(layer, images)
    free = RandAugment(ops="color_free", rate=1.0)
    assert "invert" not in free.ops and "identity" in free.ops
    assert free(images).shape == images.shape


def test_bad_inputs():
    with pytest.raises(ValueError, match="magnitude"):
        RandAugment(magnitude=11)
    with pytest.raises(ValueError, match="rate"):
        RandAugment(rate=2.0)
    with pytest.raises(ValueError, match="num_ops"):
        RandAugment(num_ops=0)
    with pytest.raises(ValueError, match="operation"):
        RandAugment(ops=["warp"])
    with pytest.raises(ValueError, match="1 or 3 channels"):
        RandAugment()(np.zeros((2, 8, 8, 2), "float32"))
    with pytest.raises(ValueError, match="fill_value"):
        RandAugment(fill_value=(0.5, 0.5))
    with pytest.raises(ValueError, match="fill_value"):
        RandAugment(fill_value=1.5)
