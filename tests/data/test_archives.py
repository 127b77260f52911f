"""Archives: unpacked once into the cache, read by `data.load`."""

import os
import tarfile

import pytest

from keras_infomin import analysis
from keras_infomin import data
from tests.analysis._images import write_image_folder


def test_archive_is_unpacked_once(tmp_path, monkeypatch):
    root = write_image_folder(tmp_path / "photos", classes=2)
    archive = str(tmp_path / "photos.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="photos")  # one top folder
    cache = str(tmp_path / "cache")
    folder = data.resolve(archive, cache_dir=cache)
    assert os.path.isdir(os.path.join(folder, "train", "class_0"))
    assert folder.startswith(cache)

    def no_second_unpack(*args, **kwargs):
        raise AssertionError("unpacked twice")

    monkeypatch.setattr(tarfile, "open", no_second_unpack)
    assert data.resolve(archive, cache_dir=cache) == folder
    (x, _), _ = analysis.load_splits(archive, 4, 4, 8, cache_dir=cache)
    assert x.shape == (4, 8, 8, 3)
    # `data.load` reads the archive as the folder it holds.
    batch, labels = next(
        iter(data.load(archive, "test", 6, shuffle=False, cache_dir=cache))
    )
    assert batch.shape == (6, 16, 16, 3) and set(labels.numpy()) == {0, 1}


def test_missing_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.resolve(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="archive"):
        data.resolve(str(tmp_path / "nowhere.tar.gz"))
    assert data.resolve("cifar10") == "cifar10"  # a tfds name
    with pytest.raises(ValueError, match="Archive .* does not exist"):
        data.load(str(tmp_path / "nowhere.tar.gz"))
