"""Quick runs of the InfoMin view-study examples on a folder made here."""

import math
import os

import numpy as np
import pytest

from examples import _study
from examples import augmentation_strength
from examples import colorful_moving_mnist
from examples import colour_spaces
from examples import patch_distance

CLASSES = 10


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """`train/` (5 per class) and `test/` (3 per class) 32 px PNG crops of
    scikit-learn's two sample photos."""
    from PIL import Image
    from sklearn.datasets import load_sample_images

    root = tmp_path_factory.mktemp("photos")
    photos = load_sample_images().images
    rng = np.random.default_rng(0)
    for split, count in (("train", 5), ("test", 3)):
        for label in range(CLASSES):
            folder = root / split / f"class_{label}"
            folder.mkdir(parents=True)
            photo = photos[label % 2]
            for i in range(count):
                side = int(rng.integers(32, 96))
                top = int(rng.integers(0, photo.shape[0] - side))
                left = int(rng.integers(0, photo.shape[1] - side))
                crop = photo[top : top + side, left : left + side]
                Image.fromarray(crop).resize((32, 32)).save(folder / f"{i}.png")
    return str(root)


def check_outputs(out_dir, plot_name):
    for name in ("results.md", "results.csv", plot_name):
        assert os.path.getsize(os.path.join(out_dir, name)) > 0


def check_bound(row, batch=16):
    # InfoNCE with N candidates per row is at most log N; the quick runs
    # evaluate in batches of 16 (32 for Colorful-Moving-MNIST).
    assert math.isclose(row["mi_cap"], math.log(batch))
    assert np.isfinite(row["mi"]) and row["mi"] <= row["mi_cap"] + 1e-4


def check_accuracy(value, test_count):
    # An accuracy over `test_count` images: a multiple of 1 / test_count.
    assert 0.0 <= value <= 1.0
    hits = value * test_count
    assert abs(hits - round(hits)) < 1e-6


def test_colour_spaces_quick(image_folder, tmp_path):
    rows = colour_spaces.main(
        [
            "--quick",
            "--data",
            image_folder,
            "--spaces",
            "ydbdr",
            "--out",
            str(tmp_path),
        ]
    )
    assert [r["space"] for r in rows] == ["ydbdr"]
    assert [r["views"] for r in rows] == ["Y|DbDr"]
    for row in rows:
        check_bound(row)
        check_accuracy(row["accuracy"], 24)
    check_outputs(tmp_path, "information_plane.png")
    table = (tmp_path / "results.md").read_text()
    assert "Y\\|DbDr" in table  # the pipe is escaped inside the table


def test_reverse_u_fit_finds_a_known_parabola():
    x = np.array([0.0, 1.0, 2.0, 3.0, 4.0])
    y = -0.5 * (x - 2.5) ** 2 + 0.7
    a, b, c, vertex = _study.reverse_u_fit(x, y)
    np.testing.assert_allclose([a, b, c], [-0.5, 2.5, -2.425], atol=1e-9)
    assert math.isclose(vertex, 2.5)
    assert "reverse-U" in _study.describe_fit((a, b, c, vertex), x)
    assert _study.reverse_u_fit(x[:3], y[:3]) is None


def test_patch_distance_quick(image_folder, tmp_path):
    rows = patch_distance.main(
        ["--quick", "--data", image_folder, "--out", str(tmp_path)]
    )
    assert [r["distance"] for r in rows] == [0.0, 8.0]
    for row in rows:
        check_bound(row)
        check_accuracy(row["accuracy"], 24)
    check_outputs(tmp_path, "patch_distance.png")


def test_patch_distance_rejects_impossible_distances():
    # 16 px patches of 32 px images: corners at most sqrt(2) * 16 apart.
    with pytest.raises(SystemExit):
        patch_distance.parse_args(["--distances", "0,23"])


def test_colorful_moving_mnist_quick(tmp_path):
    rows = colorful_moving_mnist.main(
        ["--quick", "--configs", "digit+position", "--out", str(tmp_path)]
    )
    assert [r["shared"] for r in rows] == ["untrained", "digit+position"]
    assert rows[0]["mi"] is None
    check_bound(rows[1], batch=32)
    for row in rows:
        for factor in ("digit", "position", "background"):
            check_accuracy(row[factor], 32)
    check_outputs(tmp_path, "factors.png")


def test_augmentation_strength_quick(image_folder, tmp_path):
    rows = augmentation_strength.main(
        [
            "--quick",
            "--data",
            image_folder,
            "--pipelines",
            "simclr",
            "--out",
            str(tmp_path),
        ]
    )
    assert [(r["pipeline"], r["epochs"]) for r in rows] == [("simclr", 1)]
    for row in rows:
        check_bound(row)
        check_accuracy(row["accuracy"], 24)
    check_outputs(tmp_path, "augmentation_strength.png")
