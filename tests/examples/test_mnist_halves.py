import csv
import math
import os

import numpy as np
import pytest

from examples import _mnist_halves_common as common
from examples import mnist_halves


def test_e6_mutual_information_is_the_analytic_value():
    # (X, Y) = Z + e with Z ~ N(0, [[1, -.5], [-.5, 1]]) and
    # e ~ N(0, [[1, .9], [.9, 1]]): covariance [[2, .4], [.4, 2]], so the
    # correlation is 0.2 and I = -log(1 - 0.04) / 2 nats.
    expected = -0.5 * math.log(1.0 - 0.2**2)
    assert abs(expected - 0.0204) < 1e-4
    assert math.isclose(common.e6_true_mi(), expected, rel_tol=1e-12)
    # Given the shared Z, only the noise is left: correlation 0.9.
    assert math.isclose(
        common.e6_conditional_mi(), -0.5 * math.log(1 - 0.81), rel_tol=1e-12
    )


def test_e6_batches_have_the_stated_laws():
    iid = common.e6_batches(2000, 64, dependent=False, seed=1).reshape(-1, 2)
    np.testing.assert_allclose(
        np.cov(iid.T), [[2.0, 0.4], [0.4, 2.0]], atol=0.05
    )
    dependent = common.e6_batches(2000, 64, dependent=True, seed=2)
    # Within a batch the pairs share Z: centred on the batch mean, only the
    # noise covariance is left; the batch means spread with C_Z.
    centred = dependent - dependent.mean(axis=1, keepdims=True)
    np.testing.assert_allclose(
        np.cov(centred.reshape(-1, 2).T) * 64 / 63,
        common.E6_NOISE_COV,
        atol=0.05,
    )
    np.testing.assert_allclose(
        np.cov(dependent.mean(axis=1).T),
        common.E6_Z_COV + common.E6_NOISE_COV / 64,
        atol=0.15,
    )


def test_digits_halves_split_the_images():
    from sklearn.datasets import load_digits

    data = common.load_digits(seed=3)
    images = load_digits().images / 16.0
    assert data.half_shape == (4, 8, 1)
    n = len(images)
    assert len(data.labels["train"]) + len(data.labels["test"]) == n
    whole = np.concatenate([data.top["test"], data.bottom["test"]], axis=1)
    flat = images.reshape(n, -1)
    # Every held-out example is an original image, top rows then bottom.
    index = {row.tobytes(): i for i, row in enumerate(flat.astype("float32"))}
    found = [index.get(row.tobytes()) for row in whole]
    assert None not in found and len(set(found)) == len(found)
    train = np.concatenate([data.top["train"], data.bottom["train"]], 1)
    assert not {r.tobytes() for r in train} & {r.tobytes() for r in whole}
    assert 0.0 <= data.top["train"].min() and data.top["train"].max() <= 1.0


def test_mnist_loader_runs_the_tfds_path_and_fails_clearly(monkeypatch):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=12):
        data = common.load_mnist()
    assert data.top["train"].shape[1] == 392
    assert data.bottom["test"].shape[1] == 392
    assert data.half_shape == (14, 28, 1)

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(tfds, "load", offline)
    with pytest.raises(RuntimeError, match="--data digits"):
        common.load_mnist()


TEXT_FIELDS = ("run", "critic", "encoder", "loss", "bound", "train_batches")
NOT_AT_STEP_0 = ("train_bound", "classifier_test_accuracy", "uniform_kl_test")


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _number(value):
    return float(value) if value not in ("", None) else None


QUICK = [
    "--quick",
    "--steps",
    "40",
    "--eval-every",
    "20",
    "--adv-rounds",
    "4",
    "--adv-warmup",
    "10",
    "--e6-eval-batches",
    "5",
    "--verbose",
    "0",
]
STEMS = {
    "e1": "e1_invertible",
    "e2": "e2_adversarial",
    "e4": "e4_critics",
    "e5": "e5_matched_bounds",
    "e6": "e6_non_iid",
    "e7": "e7_triplet",
}


def _run_quick(tmp_path, experiments):
    results = mnist_halves.main(
        QUICK + ["--experiments", ",".join(experiments), "--out", str(tmp_path)]
    )
    assert sorted(results) == sorted(experiments)
    chance = 0.1  # ten digit classes
    for name in experiments:
        stem = STEMS[name]
        for ext in (".md", ".csv", ".png"):
            assert os.path.getsize(tmp_path / (stem + ext)) > 0, stem + ext
        rows = _read_csv(tmp_path / (stem + ".csv"))
        assert rows, stem
        for row in rows:
            for key, value in row.items():
                if key in TEXT_FIELDS or value == "":
                    continue
                number = float(value)
                # Nothing is measured before training for these.
                if row.get("step") == "0" and key in NOT_AT_STEP_0:
                    assert math.isnan(number)
                    continue
                assert math.isfinite(number), (stem, key, value)
            accuracy = _number(row.get("probe_accuracy"))
            if accuracy is not None:
                assert chance < accuracy <= 1.0, (stem, row)
    return results


@pytest.mark.slow
def test_quick_run_invertible_adversarial_and_non_iid(tmp_path):
    results = _run_quick(tmp_path, ["e1", "e2", "e6"])
    e1 = results["e1"]
    assert {r["run"] for r in e1} == {"I_INFONCE", "I_NWJ"}
    final = [r for r in e1 if r["step"] == 40]
    assert len(final) == 2
    # Invertible encoders: the inverse recovers the inputs.
    assert all(r["inverse_error_f64"] < 1e-6 for r in final)
    assert all(r["inverse_error_f32"] < 1e-3 for r in final)
    e2 = results["e2"]
    steps = e2[-1]["step"]
    turns = [s >= 10 and (s - 10) % 11 == 10 for s in range(steps)]
    assert e2[-1]["encoder_steps"] == sum(turns) >= 4
    assert e2[-1]["inverse_error_f64"] < 1e-6
    e6 = results["e6"]
    assert {(r["bound"], r["train_batches"]) for r in e6} == {
        ("infonce", "dependent"),
        ("infonce", "iid"),
        ("nwj", "dependent"),
        ("nwj", "iid"),
    }
    for row in e6:
        assert math.isclose(row["true_mi"], 0.0204, abs_tol=1e-4)
        assert math.isclose(row["conditional_mi"], 0.8304, abs_tol=1e-4)
        if row["bound"] == "infonce":  # capped by log(batch size)
            for key in ("train_estimate", "test_dependent", "test_iid"):
                assert row[key] <= math.log(64) + 1e-4


@pytest.mark.slow
def test_quick_run_critics_matched_bounds_and_triplet(tmp_path):
    results = _run_quick(tmp_path, ["e4", "e5", "e7"])
    assert [r["critic"] for r in results["e4"][:3]] == [
        "bilinear",
        "separable",
        "concat",
    ]
    assert {(r["encoder"], r["target"]) for r in results["e5"]} == {
        ("convnet", 1.5),
        ("convnet", 3.0),
        ("mlp", 1.5),
        ("mlp", 3.0),
    }
    assert [r["loss"] for r in results["e7"][:2]] == ["infonce", "triplet"]
    for row in results["e7"][:2]:
        assert row["test_infonce"] <= math.log(64) + 1e-4
