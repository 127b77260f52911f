"""Colour conversions against published values, independent
implementations (scikit-image, PIL, colorsys) and round trips."""

import colorsys
import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_infomin.testing import assert_config_round_trip
from keras_infomin.testing import run_layer_test
from keras_infomin.views import COLOR_SPACES
from keras_infomin.views import ChannelSplit
from keras_infomin.views import ColorSpace
from keras_infomin.views import color_space_range
from keras_infomin.views import convert_color
from keras_infomin.views import rgb_to_hsv
from keras_infomin.views import rgb_to_lab
from keras_infomin.views import rgb_to_luv
from keras_infomin.views import rgb_to_xyz
from keras_infomin.views import rgb_to_ycbcr
from keras_infomin.views import rgb_to_yiq
from keras_infomin.views import rgb_to_ypbpr
from tests.views.helpers import check_graph_modes
from tests.views.helpers import random_images

PRIMARIES = np.array(
    [[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0]], "float32"
)


def test_lab_published_values():
    # sRGB D65: white (100, 0, 0); red, green, blue as tabulated by
    # Lindbloom's calculator and most colour references.
    expected = np.array(
        [
            [100.0, 0.0, 0.0],
            [53.24, 80.09, 67.20],
            [87.73, -86.18, 83.18],
            [32.30, 79.19, -107.86],
            [0.0, 0.0, 0.0],
        ]
    )
    np.testing.assert_allclose(rgb_to_lab(PRIMARIES), expected, atol=0.01)


def test_luv_and_xyz_published_values():
    luv = np.asarray(rgb_to_luv(PRIMARIES[:2]))
    np.testing.assert_allclose(luv[0], [100.0, 0.0, 0.0], atol=0.01)
    np.testing.assert_allclose(luv[1], [53.24, 175.01, 37.76], atol=0.01)
    xyz = np.asarray(rgb_to_xyz(PRIMARIES[:2]))
    np.testing.assert_allclose(xyz[0], [0.95047, 1.0, 1.08883], atol=1e-4)
    np.testing.assert_allclose(xyz[1], [0.4124, 0.2126, 0.0193], atol=1e-4)


def test_yiq_ypbpr_published_matrices():
    x = random_images((64, 3))
    yiq = np.array(
        [
            [0.299, 0.587, 0.114],
            [0.5959, -0.2746, -0.3213],
            [0.2115, -0.5227, 0.3112],
        ]
    )
    np.testing.assert_allclose(rgb_to_yiq(x), x @ yiq.T, atol=2e-4)
    ypbpr = np.array(
        [
            [0.299, 0.587, 0.114],
            [-0.168736, -0.331264, 0.5],
            [0.5, -0.418688, -0.081312],
        ]
    )
    np.testing.assert_allclose(rgb_to_ypbpr(x), x @ ypbpr.T, atol=1e-6)


def test_hsv_against_colorsys():
    x = random_images((200, 3))
    x[:5] = PRIMARIES
    x[5] = [0.5, 0.5, 0.5]
    expected = np.array([colorsys.rgb_to_hsv(*p) for p in x.astype(float)])
    np.testing.assert_allclose(rgb_to_hsv(x), expected, atol=1e-5)


def test_ycbcr_against_pil_jfif():
    rgb8 = (random_images((16, 16, 3)) * 255).round().astype("uint8")
    pil = np.asarray(Image.fromarray(rgb8).convert("YCbCr"), "float32")
    ours = np.asarray(rgb_to_ycbcr(rgb8.astype("float32") / 255.0)) * 255.0
    # PIL works in 8-bit integers: allow its rounding.
    np.testing.assert_allclose(ours, pil, atol=1.01)


SKIMAGE_REFERENCES = (
    # Lab/Luv/XYZ: scikit-image rounds the sRGB matrix to 6 digits, hence
    # the looser tolerance (still 2e-4 of the Lab range).
    ("lab", "rgb2lab", 0.02),
    ("luv", "rgb2luv", 0.02),
    ("xyz", "rgb2xyz", 2e-4),
    ("hsv", "rgb2hsv", 1e-5),
    ("yiq", "rgb2yiq", 1e-5),
    ("ydbdr", "rgb2ydbdr", 1e-5),
    ("ypbpr", "rgb2ypbpr", 1e-5),
)


def test_against_scikit_image():
    skimage_color = pytest.importorskip("skimage.color")
    x = random_images((8, 8, 3), seed=3)
    for space, function, atol in SKIMAGE_REFERENCES:
        expected = getattr(skimage_color, function)(x.astype("float64"))
        np.testing.assert_allclose(
            convert_color(x, "rgb", space), expected, atol=atol, err_msg=space
        )


def test_ycbcr_relates_to_scikit_image_studio_swing():
    skimage_color = pytest.importorskip("skimage.color")
    x = random_images((8, 8, 3), seed=4)
    studio = skimage_color.rgb2ycbcr(x.astype("float64"))
    ours = np.asarray(rgb_to_ycbcr(x))
    expected = np.stack(
        [
            16 + 219 * ours[..., 0],
            128 + 224 * (ours[..., 1] - 0.5),
            128 + 224 * (ours[..., 2] - 0.5),
        ],
        -1,
    )
    np.testing.assert_allclose(studio, expected, atol=1e-3)


def test_round_trips():
    x = random_images((6, 7, 3), seed=5)
    x[0, :5] = PRIMARIES
    for space in COLOR_SPACES:
        there = convert_color(x, "rgb", space)
        back = convert_color(there, space, "rgb")
        np.testing.assert_allclose(back, x, atol=1e-4, err_msg=space)


def test_gradients_finite_at_edge_colours():
    edge = np.concatenate(
        [PRIMARIES, [[0.5, 0.5, 0.5], [1e-7, 0, 0], [0.04045, 0.2, 0.9]]]
    ).astype("float32")
    v = tf.Variable(edge)
    for space in COLOR_SPACES:
        with tf.GradientTape() as tape:
            y = convert_color(v, "rgb", space)
            z = convert_color(y, space, "rgb")
            total = tf.reduce_sum(y) + tf.reduce_sum(z)
        grad = tape.gradient(total, v)
        assert np.all(np.isfinite(grad.numpy())), space


def test_ranges_cover_the_rgb_cube():
    axis = np.linspace(0, 1, 17, dtype="float32")
    grid = np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), -1)
    for space in COLOR_SPACES:
        normalized = np.asarray(
            ColorSpace(space, normalize=True)(grid.reshape(-1, 3))
        )
        assert normalized.min() >= -1e-4, space
        assert normalized.max() <= 1 + 1e-4, space
        # The ranges are tight: every channel gets close to both ends.
        assert np.all(normalized.min(axis=0) < 0.02), space
        assert np.all(normalized.max(axis=0) > 0.97), space
        low, high = np.asarray(color_space_range(space)).T
        assert np.all(high > low)


def test_color_space_layer():
    x = random_images((2, 8, 8, 3))
    out = run_layer_test(ColorSpace("lab"), (x,))
    np.testing.assert_allclose(out, rgb_to_lab(x), atol=1e-4)
    inverse = ColorSpace("ydbdr", inverse=True, normalize=True)
    forward = ColorSpace("ydbdr", normalize=True)
    np.testing.assert_allclose(inverse(forward(x)), x, atol=1e-5)
    check_graph_modes(ColorSpace("hsv"), x)


def test_channel_split_views():
    x = random_images((2, 8, 8, 3))
    split = ChannelSplit("lab", normalize=False)
    luminance, chroma = split(x)
    lab = np.asarray(rgb_to_lab(x))
    np.testing.assert_allclose(luminance, lab[..., :1], atol=1e-4)
    np.testing.assert_allclose(chroma, lab[..., 1:], atol=1e-4)
    y, d = ChannelSplit("ydbdr")(x)
    assert y.shape == (2, 8, 8, 1) and d.shape == (2, 8, 8, 2)
    views = ChannelSplit("rgb", normalize=False)(x)
    assert len(views) == 3
    np.testing.assert_allclose(views[2], x[..., 2:], atol=0)
    custom = ChannelSplit("hsv", groups=((0, 2), (1,)), normalize=False)
    hue_value, sat = custom(x)
    hsv = np.asarray(rgb_to_hsv(x))
    np.testing.assert_allclose(hue_value, hsv[..., [0, 2]], atol=1e-6)
    np.testing.assert_allclose(sat, hsv[..., 1:2], atol=1e-6)
    check_graph_modes(ChannelSplit("yiq"), x)


def test_channel_split_serialization():
    layer = ChannelSplit("ydbdr", groups=((0,), (1, 2)))
    assert_config_round_trip(layer)
    x = random_images((2, 8, 8, 3))
    inputs = keras.Input((8, 8, 3))
    model = keras.Model(inputs, layer(inputs))
    expected = model(x)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "split.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    for a, b in zip(loaded(x), expected):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_bad_inputs():
    with pytest.raises(ValueError, match="space"):
        ColorSpace("cmyk")
    with pytest.raises(ValueError, match="source"):
        convert_color(np.zeros((1, 3), "float32"), "rgba", "lab")
    with pytest.raises(ValueError, match="3 channels"):
        ColorSpace("lab")(np.zeros((1, 4, 4, 4), "float32"))
    with pytest.raises(ValueError, match="groups"):
        ChannelSplit("lab", groups=((0,), (3,)))
    with pytest.raises(ValueError, match="groups"):
        ChannelSplit("lab", groups=())
