import math
import os

import pytest

from examples import infomin_game


def test_quick_run_writes_one_row_per_lever_and_seed(tmp_path):
    out = tmp_path / "out"
    summary = infomin_game.main(
        [
            "--quick",
            "--levers",
            "naive,default",
            "--seeds",
            "0",
            "--out",
            str(out),
        ]
    )
    assert [row["lever"] for row in summary] == ["naive", "default"]
    for row in summary:
        assert row["seeds"] == 1
        # the fresh critic's I_NCE at the quick batch (32) stays below log 32
        assert row["fresh_mi"] <= math.log(32) + 1e-4
        assert math.isfinite(row["game_mi"])
        assert row["below_raw"] in (0, 1)
    for name in ("levers.md", "levers.csv", "runs.csv"):
        assert os.path.getsize(out / name) > 0


def test_unknown_lever_is_refused():
    with pytest.raises(SystemExit):
        infomin_game.parse_args(["--levers", "default,nonsense"])
