"""load(): tfds names through tfds.testing.mock_data and image folders the
tests write themselves; views, resizing, sharding, errors."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_infomin.data import list_image_folder
from keras_infomin.data import load
from keras_infomin.data.loaders import _resolve_views
from keras_infomin.views import RandomResizedCrop
from keras_infomin.views import SimCLRAugment
from keras_infomin.views import Views

tfds = pytest.importorskip("tensorflow_datasets")


def image_bytes(batch):
    return [np.asarray(x).tobytes() for x in batch]


@pytest.fixture
def mock():
    with tfds.testing.mock_data(num_examples=24):
        yield


@pytest.fixture
def folder(tmp_path):
    """tmp/train/{cat,dog}/*.png (6 + 4 images) and tmp/test/cat/0.png."""
    rng = np.random.default_rng(0)
    images = {}
    for split, counts in (
        ("train", {"cat": 6, "dog": 4}),
        ("test", {"cat": 1}),
    ):
        for name, count in counts.items():
            d = tmp_path / split / name
            d.mkdir(parents=True)
            for i in range(count):
                pixels = rng.integers(0, 256, (10, 12, 3)).astype("uint8")
                path = d / f"{i}.png"
                Image.fromarray(pixels).save(path)
                images[str(path)] = pixels
    (tmp_path / "train" / "notes.txt").write_text("not an image")
    return tmp_path, images


def test_tfds_images_and_labels(mock):
    ds = load("mnist", "train", batch_size=8, shuffle=False)
    images, labels = next(iter(ds))
    assert images.shape == (8, 28, 28, 1) and images.dtype == tf.float32
    assert labels.dtype == tf.int64
    assert (
        0 <= float(tf.reduce_min(images)) <= float(tf.reduce_max(images)) <= 1
    )
    total = sum(int(x.shape[0]) for x, _ in ds)
    assert total == 24
    resized = load(
        "cifar10",
        "test",
        batch_size=4,
        image_size=16,
        channels=1,
        shuffle=False,
    )
    x, _ = next(iter(resized))
    assert x.shape == (4, 16, 16, 1)


def test_tfds_views_in_batched_map(mock):
    views = Views(RandomResizedCrop(16, 16), num_views=2)
    ds = load("cifar10", "train", batch_size=8, views=views, seed=1)
    (first, second), labels = next(iter(ds))
    assert first.shape == (8, 16, 16, 3) and second.shape == (8, 16, 16, 3)
    assert not np.allclose(first, second)
    # Preset names become Views(preset(image_size), num_views).
    preset = _resolve_views("simclr", (24, 24), 3)
    assert isinstance(preset, Views) and preset.num_views == 3
    assert isinstance(preset.transforms[0], SimCLRAugment)
    unlabelled = load(
        "stl10",
        "train",
        batch_size=4,
        image_size=8,
        with_labels=False,
        shuffle=False,
    )
    assert next(iter(unlabelled)).shape == (4, 8, 8, 3)


def test_sharding_per_input_pipeline(mock):
    seen = []
    for pipeline in range(2):
        ctx = tf.distribute.InputContext(
            num_input_pipelines=2,
            input_pipeline_id=pipeline,
            num_replicas_in_sync=2,
        )
        ds = load(
            "mnist", "train", batch_size=8, input_context=ctx, shuffle=False
        )
        batches = list(ds)
        assert all(x.shape[0] == 4 for x, _ in batches)  # per replica
        seen.append({b for x, _ in batches for b in image_bytes(x)})
    assert not seen[0] & seen[1]
    everything = load("mnist", "train", batch_size=24, shuffle=False)
    assert seen[0] | seen[1] == set(image_bytes(next(iter(everything))[0]))


def test_image_folder(folder):
    path, images = folder
    files, labels, classes = list_image_folder(path / "train")
    assert classes == ["cat", "dog"]
    assert labels == [0] * 6 + [1] * 4
    ds = load(str(path), "train", batch_size=5, shuffle=False)
    batches = list(ds)
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    np.testing.assert_array_equal(y, labels)
    for got, f in zip(x, files):
        np.testing.assert_allclose(got, images[f] / 255.0, atol=1e-6)
    test = load(str(path), "test", batch_size=2, shuffle=False)
    assert sum(int(b[0].shape[0]) for b in test) == 1
    shuffled = load(str(path), "train", batch_size=10, seed=3)
    xs, ys = next(iter(shuffled))
    assert sorted(ys.numpy().tolist()) == labels


def test_image_folder_views_resize_and_shards(folder):
    path, _ = folder
    ds = load(
        str(path / "train"),
        None,
        batch_size=4,
        image_size=(8, 8),
        views=Views(RandomResizedCrop(6, 6)),
        shuffle=False,
    )
    (a, b), y = next(iter(ds))
    assert a.shape == (4, 6, 6, 3) and b.shape == (4, 6, 6, 3)
    counts = []
    for pipeline in range(2):
        ctx = tf.distribute.InputContext(2, pipeline, 2)
        shard = load(
            str(path), "train", batch_size=4, input_context=ctx, shuffle=False
        )
        counts.append(sum(int(x.shape[0]) for x, _ in shard))
    assert counts == [5, 5]


def test_bad_inputs(tmp_path, folder):
    with pytest.raises(ValueError, match="does not exist"):
        load(str(tmp_path / "missing" / "dir"), "train")
    (tmp_path / "empty" / "class").mkdir(parents=True)
    with pytest.raises(ValueError, match="No images"):
        load(str(tmp_path / "empty"), None)
    path, _ = folder
    with pytest.raises(ValueError, match="Split 'val' not found"):
        load(str(path), "val")
    with pytest.raises(ValueError, match="batch_size"):
        load(str(path), "train", batch_size=0)
    with pytest.raises(ValueError, match="image_size"):
        load(str(path), "train", image_size=(8,))
    with pytest.raises(ValueError, match="views"):
        load(str(path), "train", views="byol", image_size=8)
    with pytest.raises(ValueError, match="needs a split"):
        load("mnist", None)
    with pytest.raises(ValueError, match="neither a folder"):
        load("no_such_dataset_name", "train")
    with pytest.raises(ValueError, match="download=True"):
        load("mnist", "train", data_dir=str(tmp_path / "tfds"))
