import csv
import math
import os

import numpy as np
import pytest
from PIL import Image

from examples import learned_views

CLASS_COLOURS = ((0.8, 0.2, 0.2), (0.2, 0.7, 0.3), (0.2, 0.3, 0.9))


def _write_image_folder(root, per_class, seed):
    """`split/class/i.png`: noisy colour images, one hue per class."""
    rng = np.random.default_rng(seed)
    for split, count in (("train", per_class), ("test", per_class // 2)):
        for c, colour in enumerate(CLASS_COLOURS):
            folder = os.path.join(root, split, f"class_{c}")
            os.makedirs(folder, exist_ok=True)
            for i in range(count):
                image = np.asarray(colour) * rng.uniform(0.5, 1.0, (12, 12, 1))
                image = np.clip(
                    image + 0.1 * rng.normal(size=image.shape), 0, 1
                )
                Image.fromarray((image * 255).astype("uint8")).save(
                    os.path.join(folder, f"{i}.png")
                )


def test_quick_run_writes_tables_and_plot(tmp_path):
    data = tmp_path / "colours"
    _write_image_folder(str(data), per_class=24, seed=0)
    out = tmp_path / "out"
    configs = ["rgb", "semi_rgb"]
    rows = learned_views.main(
        [
            "--quick",
            "--data",
            str(data),
            "--configs",
            ",".join(configs),
            "--games",
            "default,pool",
            "--seeds",
            "2",
            "--train-images",
            "64",
            "--test-images",
            "32",
            "--batch-size",
            "16",
            "--out",
            str(out),
        ]
    )
    # one row per configuration, game and seed (raw splits play no game)
    assert sorted((r["config"], r["game"], r["seed"]) for r in rows) == [
        ("rgb", "", 0),
        ("rgb", "", 1),
        ("semi_rgb", "default", 0),
        ("semi_rgb", "default", 1),
        ("semi_rgb", "pool", 0),
        ("semi_rgb", "pool", 1),
    ]
    for row in rows:
        assert math.isfinite(row["mi_views"])
        # InfoNCE lies below its cap log(batch)
        assert row["mi_views"] <= math.log(16) + 1e-4
        assert math.isclose(row["mi_cap"], math.log(16), rel_tol=1e-5)
        assert 0.0 <= row["probe_accuracy"] <= 1.0
        if row["config"] == "rgb":
            assert math.isnan(row["game_mi"]) and math.isnan(row["fresh_mi"])
        else:
            # the game's own I_NCE and the monitor's, side by side
            assert math.isfinite(row["game_mi"])
            assert row["fresh_mi"] <= math.log(8) + 1e-4  # monitor batch 8
            assert 0.0 <= row["game_accuracy_1"] <= 1.0
            # compared with the raw split of the same seed
            raw = [
                r["mi_views"]
                for r in rows
                if r["config"] == "rgb" and r["seed"] == row["seed"]
            ]
            assert row["raw_mi"] == raw[0]
    for name in ("summary.md", "results.csv", "information_plane.png"):
        assert os.path.getsize(out / name) > 0
    with open(out / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == len(rows)
    table = (out / "summary.md").read_text()
    # the summary: one line per configuration and game, seeds counted
    args = learned_views.parse_args(["--games", "default,pool"])
    for config, game in (("rgb", None), ("semi_rgb", "default")):
        name = learned_views.describe(config, args, game)
        assert f"| {name.replace('|', chr(92) + '|')} | 2 |" in table
    assert "pool game" in table


def test_stage_two_encoders_read_a_rescaled_channel_the_same():
    """Stage 2 standardises every view channel first (by default): a view
    and its per-channel affine rescaling, the same information, give the
    same features; without it (`--raw-stage-two`) they differ."""
    rng = np.random.default_rng(0)
    view = rng.normal(size=(16, 8, 8, 2)).astype("float32")
    rescaled = view * np.float32([20.0, 0.05]) + np.float32([3.0, -1.0])
    for argv, same in (([], True), (["--raw-stage-two"], False)):
        args = learned_views.parse_args(["--quick", *argv])
        encoder = learned_views.make_encoder(args, args.standardize_views)
        a = encoder(view, training=True).numpy()
        b = encoder(rescaled, training=True).numpy()
        assert np.allclose(a, b, atol=1e-3) == same


def test_generator_average_option():
    """`--generator-average`: the library's default average (0.95), none
    at 0, and a clear error outside [0, 1)."""
    optimizer = learned_views.make_generator_optimizer(
        learned_views.parse_args(["--quick", "--generator-lr", "3e-4"])
    )
    assert optimizer.use_ema and optimizer.ema_momentum == 0.95
    assert float(optimizer.learning_rate) == pytest.approx(3e-4)
    plain = learned_views.make_generator_optimizer(
        learned_views.parse_args(["--quick", "--generator-average", "0"])
    )
    assert not plain.use_ema
    for bad in ("1", "-0.1"):
        with pytest.raises(SystemExit):
            learned_views.parse_args(["--generator-average", bad])
