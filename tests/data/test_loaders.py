"""load(): tfds names through tfds.testing.mock_data and image folders the
tests write themselves; views, resizing, sharding, errors."""

import io
import os
import posixpath
import tarfile

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_infomin import data as data_module
from keras_infomin.data import list_image_folder
from keras_infomin.data import load
from keras_infomin.views import RandomResizedCrop
from keras_infomin.views import SimCLRAugment
from keras_infomin.views import Views
from tests.views.helpers import imported_modules

tfds = pytest.importorskip("tensorflow_datasets")

REPO_ROOT = os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
)
CIFAR10_JPEG = os.path.join(
    REPO_ROOT, "..", "shared", "data", "cifar10-jpeg.tar.gz"
)


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
    unlabelled = load(
        "stl10",
        "train",
        batch_size=4,
        image_size=8,
        with_labels=False,
        shuffle=False,
    )
    assert next(iter(unlabelled)).shape == (4, 8, 8, 3)


def test_grey_images_through_a_preset_and_preset_names_name_the_layer(mock):
    views = Views(SimCLRAugment(20, seed=0), num_views=2)
    ds = load("mnist", "train", batch_size=8, views=views, seed=1)
    (first, second), _ = next(iter(ds))
    assert first.shape == (8, 20, 20, 1) and second.shape == (8, 20, 20, 1)
    assert float(tf.reduce_min(first)) >= 0.0
    assert float(tf.reduce_max(first)) <= 1.0
    assert not np.allclose(first, second)
    # The loader takes layers; a preset name says which layer to pass.
    with pytest.raises(ValueError, match=r"Views\(keras_infomin.views.Sim"):
        load("mnist", "train", views="simclr")
    with pytest.raises(ValueError, match=r"views.InfoMinAugment\(28\)"):
        load("mnist", "train", views="infomin", image_size=28)


def test_the_data_package_does_not_import_views():
    # The data layer sits below the views (STYLE.md): `load` takes the
    # view layer it applies.
    for name, modules in imported_modules(data_module).items():
        for module in modules:
            assert not module.startswith("keras_infomin.views"), name


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


def extract_a_few(archive, dest, num_classes=3, per_class=4):
    """Copies `per_class` JPEGs of the first `num_classes` classes of the
    archive's first split (`split/class/name.jpg`) into `dest`, reading the
    archive only as far as needed.

    Returns `(split, {class: {file name: jpeg bytes}})`.
    """
    split, chosen = None, {}
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            parts = posixpath.normpath(member.name).split("/")
            if not member.isfile() or len(parts) != 3:
                continue
            if not parts[2].lower().endswith((".jpg", ".jpeg")):
                continue
            if split is None:
                split = parts[0]
            if parts[0] != split:
                break
            name = parts[1]
            if name not in chosen and len(chosen) == num_classes:
                continue
            files = chosen.setdefault(name, {})
            if len(files) < per_class:
                files[parts[2]] = tar.extractfile(member).read()
            if len(chosen) == num_classes and all(
                len(v) == per_class for v in chosen.values()
            ):
                break
    for name, files in chosen.items():
        folder = os.path.join(dest, split, name)
        os.makedirs(folder)
        for file_name, content in files.items():
            with open(os.path.join(folder, file_name), "wb") as f:
                f.write(content)
    return split, chosen


def test_cifar10_jpeg_folder(tmp_path):
    if not os.path.isfile(CIFAR10_JPEG):
        pytest.skip(
            f"The CIFAR-10 JPEG archive is not at {CIFAR10_JPEG} (the "
            "shared data folder beside the repository)."
        )
    split, chosen = extract_a_few(CIFAR10_JPEG, str(tmp_path))
    assert len(chosen) == 3 and all(len(v) == 4 for v in chosen.values())
    classes = sorted(chosen)
    # Reference: PIL's decode of the same files in the loader's documented
    # order (classes by name, files by name within a class).
    references, expected_labels = [], []
    for label, name in enumerate(classes):
        for file_name in sorted(chosen[name]):
            image = Image.open(io.BytesIO(chosen[name][file_name]))
            references.append(np.asarray(image.convert("RGB")))
            expected_labels.append(label)
    references = np.stack(references)

    ds = load(str(tmp_path), split, batch_size=5, shuffle=False)
    batches = list(ds)
    assert [int(x.shape[0]) for x, _ in batches] == [5, 5, 2]
    x = np.concatenate([b[0] for b in batches])
    y = np.concatenate([b[1] for b in batches])
    assert x.shape == (12, 32, 32, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    np.testing.assert_array_equal(y, expected_labels)
    # TensorFlow decodes JPEGs with libjpeg's fast integer IDCT, PIL with the
    # accurate one: a few grey levels apart per pixel (at most 5 on the
    # whole archive, about 1 on average). Another image would be tens off.
    error = np.abs(x * 255.0 - references)
    assert error.max() <= 8.0
    assert error.mean(axis=(1, 2, 3)).max() <= 2.0

    # Shuffled: every image still comes with its own folder's label.
    def keys(batch):
        return [np.round(b * 255.0).astype("uint8").tobytes() for b in batch]

    label_of = dict(zip(keys(x), expected_labels))
    assert len(label_of) == 12
    images, labels = next(iter(load(str(tmp_path), split, batch_size=12)))
    assert images.shape == (12, 32, 32, 3)
    got = [label_of[k] for k in keys(images.numpy())]
    assert got == labels.numpy().tolist()
