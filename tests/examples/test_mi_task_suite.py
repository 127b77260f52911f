import csv
import os

import pytest

from examples import mi_task_suite


def test_quick_run_writes_tables_and_heat_map(tmp_path):
    rows, scores = mi_task_suite.main(
        ["--quick", "--out", str(tmp_path), "--verbose", "0"]
    )
    tasks = {r["task"] for r in rows}
    assert tasks == {"1v1-normal-0.75", "spiral-multinormal-sparse-3-3-2-2.0"}
    assert len(rows) == 2 * 3  # 2 tasks x 3 estimators x 1 seed
    for row in rows:
        assert row["n"] == 600
        assert row["error"] == pytest.approx(row["estimate"] - row["true_mi"])
    # KSG reads the bivariate normal well at N = 600; CCA misses the
    # non-linear spiral; 60 steps of InfoNCE find part of the normal's MI.
    by = {(r["task"], r["estimator"]): r for r in rows}
    assert abs(by[("1v1-normal-0.75", "ksg")]["error"]) < 0.1
    assert by[("spiral-multinormal-sparse-3-3-2-2.0", "cca")]["error"] < -0.3
    assert 0.1 < by[("1v1-normal-0.75", "infonce")]["estimate"] < 0.5
    for estimator in ("infonce", "ksg", "cca"):
        summary, overall = scores[estimator]
        assert summary == pytest.approx(overall)
        assert 0 < summary < 1
    for name in ("estimates.csv", "results.csv", "results.md", "heatmap.png"):
        assert os.path.getsize(tmp_path / name) > 0
    with open(tmp_path / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 2
    text = (tmp_path / "results.md").read_text()
    assert "mean absolute error" in text and "Mean error" in text


def test_bad_task_or_estimator_names_are_refused():
    with pytest.raises(SystemExit):
        mi_task_suite.parse_args(["--tasks", "1v1-normal-2.0"])
    with pytest.raises(SystemExit):
        mi_task_suite.parse_args(["--estimators", "ksg,mien"])
    args = mi_task_suite.parse_args(["--tasks", "1v1-additive-0.10"])
    assert args.tasks == ["1v1-additive-0.1"]
    args = mi_task_suite.parse_args([])
    assert set(args.estimators) == set(mi_task_suite.ESTIMATORS)
    assert len(args.tasks) == 40
