"""Colorful-Moving-MNIST: shared factors, rendering, labels, determinism,
the tfds source through tfds.testing.mock_data."""

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.data import ColorfulMovingMNIST


@pytest.fixture(scope="module")
def cmm():
    return ColorfulMovingMNIST(image_size=32, digit_size=12, num_backgrounds=8)


def digit_box_mask(labels, size, digit):
    mask = np.zeros((len(labels["top"]), size, size), bool)
    for i, (t, left) in enumerate(zip(labels["top"], labels["left"])):
        mask[i, t : t + digit, left : left + digit] = True
    return mask


@pytest.mark.parametrize(
    "shared",
    [
        (),
        ("digit",),
        ("position",),
        ("background",),
        ("digit", "position"),
        ("digit", "position", "background"),
    ],
)
def test_views_share_exactly_the_chosen_factors(cmm, shared):
    n = 400
    pairs = cmm.view_pairs(n, shared=shared, seed=1)
    a, b = pairs["labels1"], pairs["labels2"]
    for factor, keys in (
        ("digit", ["digit"]),
        ("position", ["top", "left"]),
        ("background", ["background"]),
    ):
        same = np.all([a[k] == b[k] for k in keys], axis=0)
        if factor in shared:
            assert same.all()
        else:
            # Independent draws: equal only by chance.
            assert same.mean() < 0.3
    if set(shared) == set(("digit", "position", "background")):
        np.testing.assert_array_equal(pairs["view1"], pairs["view2"])


def test_rendering_is_background_blended_with_the_digit(cmm):
    pairs = cmm.view_pairs(50, shared=("background",), seed=2)
    size, digit = cmm.image_size, cmm.digit_size
    x1, x2 = pairs["view1"], pairs["view2"]
    assert x1.shape == (50, size, size, 3) and x1.dtype == np.float32
    assert x1.min() >= 0 and x1.max() <= 1
    outside = ~(
        digit_box_mask(pairs["labels1"], size, digit)
        | digit_box_mask(pairs["labels2"], size, digit)
    )
    # Outside both digits the pixels are the shared background.
    np.testing.assert_array_equal(x1[outside], x2[outside])
    backgrounds = cmm.backgrounds[pairs["labels1"]["background"]]
    np.testing.assert_array_equal(x1[outside], backgrounds[outside])
    # Inside: (1 - alpha) bg + alpha * white >= bg, equal where alpha = 0.
    inside = ~outside
    assert np.all(x1[inside] >= backgrounds[inside] - 1e-6)


def test_labels(cmm):
    pairs = cmm.view_pairs(300, seed=3)
    labels = pairs["labels1"]
    assert set(np.unique(labels["digit"])) <= set(range(10))
    assert len(np.unique(labels["digit"])) == 10
    assert labels["background"].max() < 8
    # Position bin: row-major cell of a 3 x 3 grid over corners 0..20.
    span = cmm.image_size - cmm.digit_size + 1
    row = labels["top"] * 3 // span
    col = labels["left"] * 3 // span
    np.testing.assert_array_equal(labels["position"], row * 3 + col)
    assert len(np.unique(labels["position"])) == 9


def test_determinism(cmm):
    a = cmm.view_pairs(10, seed=5)
    b = cmm.view_pairs(10, seed=5)
    c = cmm.view_pairs(10, seed=6)
    np.testing.assert_array_equal(a["view1"], b["view1"])
    assert not np.array_equal(a["view1"], c["view1"])
    other = ColorfulMovingMNIST(32, 12, num_backgrounds=8, seed=0)
    np.testing.assert_array_equal(other.backgrounds, cmm.backgrounds)
    reseeded = ColorfulMovingMNIST(32, 12, num_backgrounds=8, seed=1)
    assert not np.array_equal(reseeded.backgrounds, cmm.backgrounds)


def test_dataset_and_sequences(cmm):
    ds = cmm.as_dataset(20, shared=("digit",), batch_size=8, seed=0)
    (v1, v2), labels = next(iter(ds))
    assert v1.shape == (8, 32, 32, 3) and v2.shape == (8, 32, 32, 3)
    assert labels["digit"].dtype == tf.int32
    seq = cmm.sequences(4, length=6, max_speed=2.0, seed=0)
    frames, labels = seq["frames"], seq["labels"]
    assert frames.shape == (4, 6, 32, 32, 3)
    steps = np.abs(np.diff(labels["top"], axis=1))
    assert steps.max() <= 2 + 1  # speed bound (plus rounding)
    assert labels["top"].min() >= 0 and labels["top"].max() <= 20
    assert np.any(steps > 0)  # it moves


def test_tfds_source_with_mock_data():
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):
        cmm = ColorfulMovingMNIST(
            image_size=40, digit_size=28, source="tfds", num_backgrounds=5
        )
    assert cmm.digits.shape == (12, 28, 28)
    assert cmm.backgrounds.shape == (5, 40, 40, 3)
    pairs = cmm.view_pairs(6, shared=("position",), seed=0)
    assert pairs["view1"].shape == (6, 40, 40, 3)


def test_bad_inputs(cmm):
    with pytest.raises(ValueError, match="digit_size"):
        ColorfulMovingMNIST(image_size=16, digit_size=16)
    with pytest.raises(ValueError, match="source"):
        ColorfulMovingMNIST(source="web")
    with pytest.raises(ValueError, match="shared"):
        cmm.view_pairs(4, shared=("colour",))
    with pytest.raises(ValueError, match="digit_color"):
        ColorfulMovingMNIST(digit_color=(2, 0, 0))
