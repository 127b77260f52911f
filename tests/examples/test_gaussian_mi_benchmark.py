import math
import os

import numpy as np

import keras_infomin as kim
from examples import gaussian_mi_benchmark


def test_quick_run_writes_tables_and_plot(tmp_path):
    rows = gaussian_mi_benchmark.main(
        [
            "--quick",
            "--steps-per-level",
            "25",
            "--critics",
            "separable",
            "--estimators",
            "infonce,smile_5",
            "--out",
            str(tmp_path),
            "--verbose",
            "0",
        ]
    )
    assert len(rows) == 4  # 2 estimators x 2 levels
    for row in rows:
        assert row["true_mi"] in (2.0, 4.0)
        assert np.isfinite(row["bias"]) and row["variance"] >= 0
        assert np.isfinite(row["mse"]) and row["mse"] >= 0
        assert math.isclose(
            row["mse"], row["bias"] ** 2 + row["variance"], rel_tol=1e-6
        )
    for name in ("results.md", "results.csv", "estimates.png"):
        assert os.path.getsize(tmp_path / name) > 0


def test_default_estimators_cover_every_bound():
    args = gaussian_mi_benchmark.parse_args([])
    used = {gaussian_mi_benchmark.ESTIMATORS[e][0] for e in args.estimators}
    assert used == set(kim.models.ESTIMATORS)  # every bound, and MINE
