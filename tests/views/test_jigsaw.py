"""JigSaw tiles (valid permutations, tiles where they belong) and
JigSawHead (slot order, permutation undo, serialization, training)."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.testing import run_layer_test
from keras_infomin.views import ColorJitter
from keras_infomin.views import JigSaw
from keras_infomin.views import JigSawHead
from tests.views.helpers import check_graph_modes
from tests.views.helpers import check_seeded_rebuild
from tests.views.helpers import random_images


def coordinate_images(n, height, width):
    rows, cols = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    image = np.stack([rows, cols, rows * width + cols], -1)
    return np.repeat(image[None].astype("float32"), n, axis=0)


@pytest.mark.parametrize("grid,tile,size", [(3, 8, (31, 29)), (2, 5, (10, 12))])
def test_permutations_valid_and_tiles_in_place(grid, tile, size):
    n = 64
    images = coordinate_images(n, *size)
    jigsaw = JigSaw(grid, tile, return_permutation=True, seed=2)
    tiles, perm = (np.asarray(t) for t in jigsaw(images))
    assert tiles.shape == (n, grid * grid, tile, tile, 3)
    for p in perm:
        assert sorted(p.tolist()) == list(range(grid * grid))
    cell_h, cell_w = size[0] // grid, size[1] // grid
    for b in range(n):
        for slot in range(grid * grid):
            cell = perm[b, slot]
            t = tiles[b, slot]
            top, left = int(t[0, 0, 0]), int(t[0, 0, 1])
            # An exact copy of a tile x tile window of the image ...
            np.testing.assert_array_equal(
                t, images[b, top : top + tile, left : left + tile]
            )
            # ... lying inside its cell.
            row, col = divmod(cell, grid)
            assert row * cell_h <= top <= (row + 1) * cell_h - tile
            assert col * cell_w <= left <= (col + 1) * cell_w - tile
    # Permutations and offsets vary across samples.
    possible = math.factorial(grid * grid)
    assert len({p.tobytes() for p in perm}) > min(n // 2, possible // 2)
    corners = tiles[:, :, 0, 0, 2]
    assert len({c.tobytes() for c in corners}) > n // 2


def test_permutations_are_uniform():
    n = 6000
    images = random_images((n, 6, 6, 1))
    _, perm = JigSaw(2, 3, return_permutation=True)(images)
    counts = np.bincount(np.asarray(perm)[:, 0], minlength=4) / n
    np.testing.assert_allclose(counts, 0.25, atol=4.5 * np.sqrt(0.1875 / n))


def test_inference_keeps_grid_order_and_centres_tiles():
    images = coordinate_images(2, 30, 30)
    tiles, perm = JigSaw(3, 6, return_permutation=True)(images, training=False)
    np.testing.assert_array_equal(perm, np.tile(np.arange(9), (2, 1)))
    # Cells of 10 pixels, tiles of 6: offset 2.
    np.testing.assert_array_equal(np.asarray(tiles)[0, 4, 0, 0, :2], [12, 12])


def test_tile_transform_and_graph_modes():
    images = random_images((3, 24, 24, 3))
    jigsaw = JigSaw(3, 6, tile_transform=ColorJitter(0.5, seed=1), seed=1)
    check_graph_modes(jigsaw, images, expected_shape=(3, 9, 6, 6, 3))
    check_seeded_rebuild(jigsaw, images)
    run_layer_test(JigSaw(3), (images,), call_kwargs={"training": False})


def test_head_concatenates_slots_and_undoes_permutations():
    b, t, d = 4, 9, 5
    features = np.random.default_rng(0).normal(size=(b, t, d))
    features = features.astype("float32")
    head = JigSawHead(3, normalize=False)
    out = np.asarray(head(features))
    kernel, bias = (np.asarray(w) for w in head.projection.weights)
    np.testing.assert_allclose(
        out, features.reshape(b, t * d) @ kernel + bias, atol=1e-5
    )
    # With the permutation, the features are put back in cell order.
    perm = np.stack([np.random.default_rng(i).permutation(t) for i in range(b)])
    shuffled = np.take_along_axis(features, perm[..., None], axis=1)
    restored = np.asarray(head(shuffled, perm.astype("int32")))
    np.testing.assert_allclose(restored, out, atol=1e-5)
    # Without it, the embedding depends on the order (PIRL).
    assert not np.allclose(np.asarray(head(shuffled)), out)
    normed = np.asarray(JigSawHead(7)(features))
    np.testing.assert_allclose(np.linalg.norm(normed, axis=1), 1, atol=1e-5)


def test_head_layer_contract_and_training():
    features = random_images((4, 9, 6))
    run_layer_test(JigSawHead(8, tile_dim=4), (features,))
    # Trained end to end with a shared tile encoder.
    tiles_in = keras.Input((9, 6, 6, 3))
    flat = keras.layers.Reshape((6 * 6 * 3,))
    encoder = keras.layers.Dense(5)
    tile_features = keras.layers.TimeDistributed(
        keras.Sequential([flat, encoder])
    )(tiles_in)
    model = keras.Model(tiles_in, JigSawHead(4)(tile_features))
    model.compile("adam", "mse")
    tiles = JigSaw(3, 6)(random_images((8, 18, 18, 3)))
    history = model.fit(tiles, np.zeros((8, 4)), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_bad_inputs():
    with pytest.raises(ValueError, match="tile_size"):
        JigSaw(3, 12)(random_images((1, 30, 30, 3)))
    with pytest.raises(ValueError, match="too small"):
        JigSaw(4)(random_images((1, 3, 3, 3)))
    with pytest.raises(ValueError, match="grid_size"):
        JigSaw(0)
    with pytest.raises(ValueError, match="height, width, channels"):
        JigSaw(3)(np.zeros((9, 9), "float32"))
    with pytest.raises(ValueError, match="tile_size"):

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3])])
        def dynamic(x):
            return JigSaw(3)(x)

        dynamic(random_images((1, 9, 9, 3)))
    with pytest.raises(ValueError, match="output_dim"):
        JigSawHead(0)
    with pytest.raises(ValueError, match="tiles, dim"):
        JigSawHead(4)(random_images((2, 9)))
