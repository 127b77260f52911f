"""`keras-infomin estimate-mi X.npy Y.npy`: a run, its JSON, bad input."""

import json

import numpy as np
import pytest

from keras_infomin import cli
from keras_infomin import data
from tests.cli.test_cli import keras_infomin


def run_here(capsys, *args):
    """`cli.main` in this process: (status, stdout, stderr lines)."""
    try:
        status = cli.main(list(args))
    except SystemExit as stop:
        status = stop.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err.strip().splitlines()


@pytest.fixture(scope="module")
def arrays(tmp_path_factory):
    root = tmp_path_factory.mktemp("arrays")
    x, y, true_mi = data.correlated_gaussians(400, dim=2, mi=1.0, seed=0)
    paths = {"x": root / "x.npy", "y": root / "y.npy", "short": root / "s.npy"}
    np.save(paths["x"], x)
    np.save(paths["y"], y)
    np.save(paths["short"], y[:300])
    np.savez(root / "both.npz", x=x, y=y)
    paths["npz"] = root / "both.npz"
    return {k: str(v) for k, v in paths.items()}, true_mi


def test_estimate_mi_prints_the_estimate_and_writes_json(arrays, tmp_path):
    paths, true_mi = arrays
    out = str(tmp_path / "mi.json")
    done = keras_infomin(
        "estimate-mi",
        paths["x"],
        paths["y"],
        "--max-steps",
        "300",
        "--out",
        out,
        "--verbose",
        "0",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "infonce:" in done.stdout and "nats" in done.stdout
    with open(out) as f:
        result = json.load(f)
    low, high = result["interval"]
    assert low <= result["nats"] <= high
    assert result["bits"] == pytest.approx(result["nats"] / np.log(2))
    assert 0.5 < result["nats"] < true_mi + 0.1  # a lower bound of 1 nat
    assert result["n_train"] == result["n_held_out"] == 200
    assert result["history"][-1]["step"] == result["steps"]


def test_classical_estimator_by_name(arrays, capsys):
    paths, true_mi = arrays
    status, out, _ = run_here(
        capsys, "estimate-mi", paths["x"], paths["y"], "--estimator", "ksg"
    )
    assert status == 0
    value = float(out.split("ksg:")[1].split("nats")[0])
    assert value == pytest.approx(true_mi, abs=0.15)
    status, out, _ = run_here(capsys, "estimate-mi", "--help")
    assert status == 0 and "--estimator" in out and "X.npy" in out


@pytest.mark.parametrize(
    "args, message",
    [
        (["{x}", "{short}"], "same number of rows"),
        (["{x}", "{missing}"], "does not exist"),
        (["{x}", "{npz}"], "several arrays"),
        (["{x}", "{y}", "--held-out", "1.5"], "fraction in (0, 1)"),
        (["{x}", "{y}", "--estimator", "mien"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line(arrays, capsys, args, message):
    paths, _ = arrays
    paths = dict(paths, missing=paths["x"] + ".missing")
    status, _, lines = run_here(
        capsys, "estimate-mi", *[a.format(**paths) for a in args]
    )
    assert status in (1, 2)
    assert len(lines) == 1 and message in lines[0], lines
