import math
import os

from examples import demo


def test_demo_trains_reports_and_saves(tmp_path):
    result = demo.main(
        ["--epochs", "3", "--out", str(tmp_path), "--verbose", "0"]
    )
    assert 0.0 < result["mi"] <= math.log(540)
    assert result["probe"] > 0.5  # ten classes: chance is 0.1
    assert result["baseline"] > 0.5
    assert os.path.getsize(tmp_path / "digits_halves.keras") > 0
