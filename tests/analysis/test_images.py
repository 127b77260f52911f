import os
import tarfile

import numpy as np
import pytest

from keras_infomin import analysis
from tests.analysis._images import write_image_folder


def test_split_folder(tmp_path):
    root = write_image_folder(tmp_path / "data", classes=3)
    (x, y), (x_test, y_test) = analysis.load_splits(root, 12, 6, image_size=8)
    assert x.shape == (12, 8, 8, 3) and x_test.shape == (6, 8, 8, 3)
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    assert set(y) <= {0, 1, 2} and len(set(y)) > 1  # drawn over classes
    everything = analysis.load_images(root, "test", None, image_size=8)[0]
    assert len(everything) == 12  # 3 classes x 4 test images
    with pytest.raises(ValueError, match="only 18 images"):
        analysis.load_images(root, "train", 50, image_size=8)


def test_flat_folder_is_split_into_disjoint_parts(tmp_path):
    root = write_image_folder(tmp_path / "flat", 3, per_split={None: 5})
    (x, _), (x_test, _) = analysis.load_splits(root, 9, 6, image_size=8)
    assert len(x) == 9 and len(x_test) == 6
    train_rows = {row.tobytes() for row in x}
    assert not any(row.tobytes() in train_rows for row in x_test)


def test_archive_is_unpacked_once(tmp_path, monkeypatch):
    root = write_image_folder(tmp_path / "photos", classes=2)
    archive = str(tmp_path / "photos.tar.gz")
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(root, arcname="photos")  # one top folder
    cache = str(tmp_path / "cache")
    folder = analysis.resolve(archive, cache_dir=cache)
    assert os.path.isdir(os.path.join(folder, "train", "class_0"))
    assert folder.startswith(cache)

    def no_second_unpack(*args, **kwargs):
        raise AssertionError("unpacked twice")

    monkeypatch.setattr(tarfile, "open", no_second_unpack)
    assert analysis.resolve(archive, cache_dir=cache) == folder
    (x, _), _ = analysis.load_splits(archive, 4, 4, 8, cache_dir=cache)
    assert x.shape == (4, 8, 8, 3)


def test_missing_paths(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        analysis.resolve(str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="archive"):
        analysis.resolve(str(tmp_path / "nowhere.tar.gz"))
    assert analysis.resolve("cifar10") == "cifar10"  # a tfds name
