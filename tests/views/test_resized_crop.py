"""RandomResizedCrop: window statistics against the analytic distribution,
geometry recovered from coordinate ramps, resampling against
tf.image.resize."""

import math

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.testing import run_layer_test
from keras_infomin.views import RandomResizedCrop
from keras_infomin.views.resized_crop import crop_and_resize
from tests.views.helpers import check_graph_modes
from tests.views.helpers import check_seeded_rebuild
from tests.views.helpers import random_images


def expected_area_fraction(scale, ratio, attempts=10):
    """E[crop area / image area] on a square image, rounding ignored.

    A candidate (s, r) fits iff s <= min(r, 1/r); with K candidates the
    first fitting one is kept, else the whole image (ratio 1 is allowed).
    """
    a, b = scale
    log_r = np.linspace(math.log(ratio[0]), math.log(ratio[1]), 200001)
    r = np.exp(log_r)
    c = np.clip(np.minimum(r, 1 / r), a, b)
    p_valid = np.mean((c - a) / (b - a))
    mean_area_valid = np.mean((c**2 - a**2) / 2 / (b - a)) / p_valid
    p_some = 1 - (1 - p_valid) ** attempts
    return p_some * mean_area_valid + (1 - p_some) * 1.0


def test_area_fraction_matches_analytic_mean():
    n, size = 20000, 512
    for scale in ((0.08, 1.0), (0.2, 1.0), (0.6, 1.0)):
        layer = RandomResizedCrop(8, 8, scale=scale, seed=1)
        top, left, h, w = (
            t.numpy() for t in layer.sample_boxes(n, size, size, seed=[1, 2])
        )
        area = h * w / size**2
        expected = expected_area_fraction(scale, (3 / 4, 4 / 3))
        stderr = area.std() / math.sqrt(n)
        assert abs(area.mean() - expected) < 5 * stderr + 2e-3, scale


def test_aspect_ratio_is_log_uniform_when_every_candidate_fits():
    layer = RandomResizedCrop(8, 8, scale=(0.05, 0.3), ratio=(0.5, 2.0))
    n, size = 20000, 512
    _, _, h, w = (
        t.numpy() for t in layer.sample_boxes(n, size, size, seed=[3, 4])
    )
    log_ratio = np.log(w / h)
    half = math.log(4.0)
    # log(w / h) ~ U(log 0.5, log 2) up to the rounding of w and h.
    assert abs(log_ratio.mean()) < 0.02
    assert abs(log_ratio.var() - half**2 / 12) < 0.02
    area = h * w / size**2
    assert abs(area.mean() - 0.175) < 0.003
    assert log_ratio.min() > -math.log(2) - 0.03
    assert log_ratio.max() < math.log(2) + 0.03


def test_windows_stay_inside_odd_sized_images():
    layer = RandomResizedCrop(8, 8, scale=(0.08, 1.0))
    for height, width in [(37, 53), (64, 17), (5, 5)]:
        top, left, h, w = (
            t.numpy() for t in layer.sample_boxes(3000, height, width)
        )
        assert np.all(h >= 1) and np.all(w >= 1)
        assert np.all(top >= 0) and np.all(left >= 0)
        assert np.all(top + h <= height) and np.all(left + w <= width)


def test_fallback_is_the_clamped_centre_crop():
    # On a 200 x 600 image no candidate with area >= 0.9 fits in height:
    # the fallback is the full height with width round(200 * 4/3) centred.
    layer = RandomResizedCrop(8, 8, scale=(0.9, 1.0))
    top, left, h, w = (t.numpy() for t in layer.sample_boxes(50, 200, 600))
    np.testing.assert_array_equal(h, 200)
    np.testing.assert_array_equal(w, 267)
    np.testing.assert_array_equal(top, 0)
    np.testing.assert_array_equal(left, (600 - 267) // 2)


def test_geometry_recovered_from_coordinate_ramps():
    size, out = 96, 8
    rows, cols = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    ramp = np.stack([rows, cols, rows + cols], -1).astype("float32")
    images = np.repeat(ramp[None], 64, axis=0)
    crops = RandomResizedCrop(out, out, scale=(0.3, 1.0), seed=5)(images)
    crops = np.asarray(crops)
    # Downsampling (crop side > out): no clamping, bilinear is exact on a
    # ramp, and pixel k samples top + (k + 0.5) h / out - 0.5.
    first, last = crops[:, 0, 0, 0], crops[:, -1, 0, 0]
    h = (last - first) / (1 - 1 / out)
    top = first - 0.5 * h / out + 0.5
    first_x, last_x = crops[:, 0, 0, 1], crops[:, 0, -1, 1]
    w = (last_x - first_x) / (1 - 1 / out)
    left = first_x - 0.5 * w / out + 0.5
    for value in (h, top, w, left):
        np.testing.assert_allclose(value, np.round(value), atol=2e-3)
    assert np.all(top >= -1e-3) and np.all(top + h <= size + 1e-3)
    assert np.all(left >= -1e-3) and np.all(left + w <= size + 1e-3)
    assert len(np.unique(np.round(h))) > 10  # views differ across samples


@pytest.mark.parametrize("box", [(3, 5, 20, 11), (10, 2, 22, 30)])
def test_resampling_matches_tf_image_resize(box):
    # Shrinking: equal to resizing the cut-out window.
    images = random_images((1, 32, 32, 3))
    top, left, h, w = box
    ours = crop_and_resize(images, [top], [left], [h], [w], (9, 7))
    window = images[:, top : top + h, left : left + w]
    expected = tf.image.resize(window, (9, 7), method="bilinear")
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_enlarging_matches_resize_inside_the_window():
    # Enlarging a 4 x 3 window at (6, 5) to 9 x 7: output pixels whose
    # sample positions lie inside the window equal tf.image.resize of the
    # window; the rest blend with the neighbours outside (documented).
    images = random_images((1, 32, 32, 3))
    top, left, h, w, oh, ow = 6, 5, 4, 3, 9, 7
    ours = np.asarray(
        crop_and_resize(images, [top], [left], [h], [w], (oh, ow))
    )
    window = images[:, top : top + h, left : left + w]
    expected = np.asarray(tf.image.resize(window, (oh, ow)))
    ys = (np.arange(oh) + 0.5) * h / oh - 0.5
    xs = (np.arange(ow) + 0.5) * w / ow - 0.5
    inside_y = (ys >= 0) & (ys <= h - 1)
    inside_x = (xs >= 0) & (xs <= w - 1)
    np.testing.assert_allclose(
        ours[0][inside_y][:, inside_x],
        expected[0][inside_y][:, inside_x],
        atol=1e-5,
    )
    # At the image border the edge pixel is repeated, as in resize.
    corner = np.asarray(crop_and_resize(images, [0], [0], [h], [w], (oh, ow)))
    np.testing.assert_allclose(corner[0, 0, 0], images[0, 0, 0], atol=1e-5)


def test_inference_is_a_centred_resize():
    images = random_images((2, 20, 20, 3))
    layer = RandomResizedCrop(10, 10)
    out = layer(images, training=False)
    np.testing.assert_allclose(
        out, tf.image.resize(images, (10, 10)), atol=1e-5
    )
    wide = random_images((1, 10, 30, 3))
    out = RandomResizedCrop(10, 10)(wide, training=False)
    np.testing.assert_allclose(out, wide[:, :, 10:20], atol=1e-5)


def test_layer_contract():
    images = random_images((4, 24, 24, 3))
    layer = RandomResizedCrop(12, 10, scale=(0.2, 1.0), seed=3)
    run_layer_test(layer, (images,), call_kwargs={"training": False})
    out = check_graph_modes(layer, images, expected_shape=(4, 12, 10, 3))
    assert np.all((out >= 0) & (out <= 1))
    check_seeded_rebuild(layer, images)
    assert layer.compute_output_shape((None, 24, 24, 3)) == (None, 12, 10, 3)


def test_bad_inputs():
    layer = RandomResizedCrop(8, 8)
    with pytest.raises(ValueError, match="height, width, channels"):
        layer(np.zeros((8, 8), "float32"))
    with pytest.raises(TypeError, match="floating"):
        layer(np.zeros((2, 8, 8, 3), "uint8"))
    with pytest.raises(ValueError, match="scale"):
        RandomResizedCrop(8, 8, scale=(0.5, 1.5))
    with pytest.raises(ValueError, match="scale"):
        RandomResizedCrop(8, 8, scale=(0.9, 0.1))
    with pytest.raises(ValueError, match="ratio"):
        RandomResizedCrop(8, 8, ratio=(0.0, 1.0))
    with pytest.raises(ValueError, match="height"):
        RandomResizedCrop(0, 8)
    with pytest.raises(ValueError, match="interpolation"):
        RandomResizedCrop(8, 8, interpolation="cubic")
