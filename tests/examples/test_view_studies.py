"""Quick runs of the InfoMin view-study examples on a folder made here."""

import math
import os

import numpy as np
import pytest

from examples import augmentation_strength
from examples import colorful_moving_mnist
from examples import colour_spaces
from examples import patch_distance
from tests.analysis._images import write_image_folder

CLASSES = 10
TEST_IMAGES = 32  # --quick draws 32 held-out images, scored in batches of 16


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """`train/` (7 per class) and `test/` (4 per class) 32 px PNG crops of
    scikit-learn's two sample photos."""
    root = tmp_path_factory.mktemp("photos") / "data"
    return write_image_folder(
        root, CLASSES, per_split={"train": 7, "test": 4}, size=32
    )


def check_outputs(out_dir):
    for name in (
        "summary.md",
        "summary.csv",
        "runs.json",
        "information_plane.png",
        "knob.png",
    ):
        assert os.path.getsize(os.path.join(out_dir, name)) > 0


def check_row(row, batch=16):
    # InfoNCE with N candidates per row is at most log N.
    assert math.isclose(row["mi_cap"], math.log(batch))
    for key in ("mi", "model_mi"):
        assert np.isfinite(row[key]) and row[key] <= row["mi_cap"] + 1e-4
    # An accuracy over the held-out images: a multiple of 1 / 32.
    hits = row["accuracy"] * TEST_IMAGES
    assert 0.0 <= row["accuracy"] <= 1.0 and abs(hits - round(hits)) < 1e-6


def test_colour_spaces_quick(image_folder, tmp_path):
    result = colour_spaces.main(
        ["--quick", "--data", image_folder, "--spaces", "ydbdr"]
        + ["--out", str(tmp_path)]
    )
    assert [r["value"] for r in result.summary] == ["ydbdr"]
    assert [r["label"] for r in result.summary] == ["Y|DbDr"]
    for row in result.runs:
        check_row(row)
    check_outputs(tmp_path)
    table = (tmp_path / "summary.md").read_text()
    assert "Y\\|DbDr" in table  # the pipe is escaped inside the table


def test_patch_distance_quick(image_folder, tmp_path):
    result = patch_distance.main(
        ["--quick", "--data", image_folder, "--out", str(tmp_path)]
        + ["--probe-input", "patch", "--distances", "8"]
    )
    assert [r["value"] for r in result.summary] == [8.0]
    for row in result.runs:
        check_row(row)
    check_outputs(tmp_path)


def test_patch_distance_rejects_impossible_distances(image_folder, tmp_path):
    # 16 px patches of 32 px images: corners at most sqrt(2) * 16 apart,
    # refused before anything trains.
    with pytest.raises(ValueError, match="at most 22.63 pixels"):
        patch_distance.main(
            ["--quick", "--data", image_folder, "--distances", "0,23"]
            + ["--out", str(tmp_path)]
        )
    assert not (tmp_path / "runs.json").exists()


def test_colorful_moving_mnist_quick(tmp_path):
    rows = colorful_moving_mnist.main(
        ["--quick", "--configs", "digit+position", "--out", str(tmp_path)]
    )
    assert [r["shared"] for r in rows] == ["untrained", "digit+position"]
    assert rows[0]["mi"] is None
    assert math.isclose(rows[1]["mi_cap"], math.log(32))
    assert rows[1]["mi"] <= rows[1]["mi_cap"] + 1e-4
    for row in rows:
        for factor in ("digit", "position", "background"):
            hits = row[factor] * 32
            assert abs(hits - round(hits)) < 1e-6
    for name in ("results.md", "results.csv", "factors.png"):
        assert os.path.getsize(tmp_path / name) > 0
    assert "| untrained | n/a |" in (tmp_path / "results.md").read_text()


def test_augmentation_strength_quick(image_folder, tmp_path):
    result = augmentation_strength.main(
        ["--quick", "--data", image_folder, "--pipelines", "crop"]
        + ["--out", str(tmp_path)]
    )
    assert [(r["value"], r["epochs"]) for r in result.runs] == [("crop", 1)]
    for row in result.runs:
        check_row(row)
    check_outputs(tmp_path)
    with pytest.raises(SystemExit):
        augmentation_strength.parse_args(["--pipelines", "simclr,byol"])
