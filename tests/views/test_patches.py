"""PatchPair: corner distance as asked, patches inside the image and
equal to the image there, impossible requests refused."""

import math

import keras
import numpy as np
import pytest

from keras_infomin.testing import assert_config_round_trip
from keras_infomin.views import PatchPair
from keras_infomin.views.patches import max_patch_distance
from tests.views.helpers import check_graph_modes
from tests.views.helpers import check_seeded_rebuild
from tests.views.helpers import random_images


def coordinate_images(n, height, width):
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    return np.repeat(
        np.stack([rows, cols, rows], -1)[None].astype("float32"), n, 0
    )


@pytest.mark.parametrize("direction", ["any", "axis"])
@pytest.mark.parametrize("distance", [0, 5, 17.5, 30])
def test_distance_is_what_was_asked(direction, distance):
    n, height, width, p = 200, 40, 50, 12
    images = coordinate_images(n, height, width)
    layer = PatchPair(p, distance, direction=direction, return_offsets=True)
    first, second, corners = (np.asarray(t) for t in layer(images))
    y1, x1, y2, x2 = corners.T
    # The patches are the image at their corners.
    np.testing.assert_array_equal(first[:, 0, 0, 0], y1)
    np.testing.assert_array_equal(first[:, 0, 0, 1], x1)
    np.testing.assert_array_equal(second[:, -1, -1, 0], y2 + p - 1)
    np.testing.assert_array_equal(second[:, -1, -1, 1], x2 + p - 1)
    for y, x in ((y1, x1), (y2, x2)):
        assert np.all((y >= 0) & (y + p <= height))
        assert np.all((x >= 0) & (x + p <= width))
    realised = np.hypot(y2 - y1, x2 - x1)
    if direction == "axis":
        # Whole pixels along one axis.
        assert np.all((y2 == y1) | (x2 == x1))
        np.testing.assert_array_equal(realised, round(distance))
    else:
        assert np.all(np.abs(realised - distance) <= math.sqrt(2) / 2 + 1e-6)
    if distance > 0:
        # Directions vary: every feasible sign pattern appears.
        signs = {(np.sign(a), np.sign(b)) for a, b in zip(y2 - y1, x2 - x1)}
        both_axes = direction == "any" or distance <= height - p
        assert len(signs) >= (4 if both_axes else 2)


def test_longest_distance_is_reachable_and_longer_refused():
    height, width, p = 30, 40, 10
    limit = max_patch_distance(height, width, p)
    assert limit == pytest.approx(math.hypot(20, 30))
    images = random_images((8, height, width, 3))
    PatchPair(p, limit)(images)
    with pytest.raises(ValueError, match="at most"):
        PatchPair(p, limit + 1)(images)
    with pytest.raises(ValueError, match="at most"):
        PatchPair(p, 25, direction="axis")(images[:, :, :30])
    with pytest.raises(ValueError, match="larger than"):
        PatchPair(31, 0)(images)


def test_inference_is_deterministic():
    images = random_images((2, 32, 32, 3))
    layer = PatchPair(8, 10)
    a = layer(images, training=False)
    b = layer(images, training=False)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)


def test_layer_contract():
    images = random_images((3, 32, 32, 3))
    layer = PatchPair(8, 12, seed=3)
    assert_config_round_trip(layer)
    check_graph_modes(
        layer, images, expected_shape=[(3, 8, 8, 3), (3, 8, 8, 3)]
    )
    check_seeded_rebuild(layer, images)
    assert layer.compute_output_shape((None, 32, 32, 3)) == (
        (None, 8, 8, 3),
        (None, 8, 8, 3),
    )


def _patch_model(layer, shape=(32, 32, 3)):
    inputs = keras.Input(shape)
    return keras.Model(inputs, layer(inputs))


def test_keras_file_round_trip(tmp_path):
    images = random_images((4, 32, 32, 3), seed=1)
    layer = PatchPair(8, 10, seed=7)
    path = str(tmp_path / "patches.keras")
    _patch_model(layer).save(path)
    loaded = keras.saving.load_model(path)
    restored = loaded.layers[-1]
    assert isinstance(restored, PatchPair)
    assert restored.get_config() == layer.get_config()
    # Inference: the documented centred pair. The middle feasible angle is
    # 45 degrees, so both offsets are round(10 / sqrt(2)) = 7 pixels, and
    # the first corner is centred in [0, 32 - 8 - 7]: floor(17 / 2) = 8.
    first, second = (np.asarray(t) for t in loaded(images, training=False))
    np.testing.assert_array_equal(first, images[:, 8:16, 8:16])
    np.testing.assert_array_equal(second, images[:, 15:23, 15:23])
    # Training: the restored layer draws the same patches as a new layer
    # with the same seed, call after call.
    reference = _patch_model(PatchPair.from_config(layer.get_config()))
    for _ in range(2):
        got = loaded(images, training=True)
        want = reference(images, training=True)
        for a, b in zip(got, want):
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # ... and they are random: another call moves at least one patch.
    again = loaded(images, training=True)[0]
    assert not np.array_equal(np.asarray(again), np.asarray(got[0]))


def test_bad_inputs():
    with pytest.raises(ValueError, match="patch_size"):
        PatchPair(0, 3)
    with pytest.raises(ValueError, match="distance"):
        PatchPair(4, -1)
    with pytest.raises(ValueError, match="direction"):
        PatchPair(4, 3, direction="diagonal")
    with pytest.raises(ValueError, match="height, width, channels"):
        PatchPair(4, 3)(np.zeros((16, 16), "float32"))
