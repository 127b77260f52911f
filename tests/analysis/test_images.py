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
