import csv
import os

import pytest

from examples import mi_task_suite


def test_quick_run_writes_tables_and_heat_map(tmp_path):
    rows, scores = mi_task_suite.main(
        ["--quick", "--out", str(tmp_path), "--verbose", "0"]
    )
    tasks = {r["task"] for r in rows}
    assert tasks == set(mi_task_suite.SUMMARY_TASKS)
    assert len(rows) == 8 * 3  # 8 tasks x 3 estimators x 1 seed
    for row in rows:
        assert row["n"] == 1000
        assert row["error"] == pytest.approx(row["estimate"] - row["true_mi"])
    # KSG reads the bivariate normal well at N = 1,000; CCA misses the
    # non-linear spiral.
    by = {(r["task"], r["estimator"]): r for r in rows}
    assert abs(by[("1v1-normal-0.75", "ksg")]["error"]) < 0.1
    assert by[("spiral-multinormal-sparse-3-3-2-2.0", "cca")]["error"] < -0.3
    for estimator in ("ksg", "ksg_euclidean", "cca"):
        summary, overall = scores[estimator]
        assert summary == pytest.approx(overall)
        assert 0 < summary < 1
    for name in ("estimates.csv", "results.csv", "results.md", "heatmap.png"):
        assert os.path.getsize(tmp_path / name) > 0
    with open(tmp_path / "results.csv") as f:
        assert len(list(csv.DictReader(f))) == 8
    assert "mean absolute error" in (tmp_path / "results.md").read_text()


def test_bad_task_or_estimator_names_are_refused():
    with pytest.raises(SystemExit):
        mi_task_suite.parse_args(["--tasks", "1v1-normal-2.0"])
    with pytest.raises(SystemExit):
        mi_task_suite.parse_args(["--estimators", "ksg,mine"])
    args = mi_task_suite.parse_args(["--tasks", "1v1-additive-0.10"])
    assert args.tasks == ["1v1-additive-0.1"]
