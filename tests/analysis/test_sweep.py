"""The sweep on a toy whose sweet spot is known by construction."""

import json
import math
import os

import keras
import numpy as np
import pytest
from keras import ops

from keras_infomin import analysis
from keras_infomin import models
from keras_infomin.analysis.results import find_sweet_spot
from keras_infomin.analysis.results import summarise

CODES = np.array([[1, 1], [1, -1], [-1, 1], [-1, -1]], "float32")
LEVELS = [0, 1, 2, 3]
SWEET = 2


def toy(n, seed):
    """Rows of six 2-d blocks; the views pick blocks by level.

    Blocks: the class code seen twice with independent noise (s_a, s_b), a
    strong nuisance n, n with noise, an independent nuisance, and the
    code of a random class. With a 2-d linear encoder:

    level 0  views share n exactly         -> the encoder keeps n
    level 1  views share n through noise   -> still mostly n
    level 2  views share the class only    -> the encoder keeps the class
    level 3  views share nothing           -> nothing to learn

    so the probe peaks at level 2 while I(v1; v2) falls with the level.
    """
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)

    def noisy(codes):
        return codes + 0.3 * rng.normal(size=codes.shape)

    nuisance = 2.0 * rng.normal(size=(n, 2))
    blocks = [
        noisy(CODES[y]),
        noisy(CODES[y]),
        nuisance,
        nuisance + rng.normal(size=(n, 2)),
        2.0 * rng.normal(size=(n, 2)),
        noisy(CODES[rng.integers(0, 4, n)]),
    ]
    return np.concatenate(blocks, axis=1).astype("float32"), y


@keras.saving.register_keras_serializable(package="keras_infomin_tests")
class ToyViews(keras.layers.Layer):
    def __init__(self, level, **kwargs):
        super().__init__(**kwargs)
        self.level = int(level)

    def call(self, x, training=None):
        s_a, s_b, n, n_noisy, n_other, s_other = (
            x[:, 2 * i : 2 * i + 2] for i in range(6)
        )
        nuisance = [n, n_noisy, n_other, n_other][self.level]
        label = s_b if self.level <= SWEET else s_other
        return (
            ops.concatenate([s_a, n], axis=-1),
            ops.concatenate([label, nuisance], axis=-1),
        )

    def get_config(self):
        return {**super().get_config(), "level": self.level}


KNOB = analysis.Knob("level", ToyViews)
SETTINGS = dict(
    encoder=lambda: keras.layers.Dense(2),
    epochs=3,
    batch_size=64,
    seeds=(0, 1),
    learning_rate=1e-2,
    mi_steps=100,
    verbose=0,
)


@pytest.fixture(scope="module")
def data():
    return toy(1024, 0), toy(512, 1)


@pytest.fixture(scope="module")
def swept(data, tmp_path_factory):
    out = str(tmp_path_factory.mktemp("sweep"))
    return analysis.sweep(KNOB, LEVELS, data, out=out, **SETTINGS), out


def test_finds_the_sweet_spot_known_by_construction(swept):
    result, _ = swept
    spot = result.sweet_spot
    assert spot["value"] == SWEET
    assert spot["wins"] == spot["seeds"] == 2
    assert spot["location"] == SWEET and spot["location_sd"] == 0.0
    assert spot["margin"] > 0.1
    final = {r["value"]: r for r in result.summary}
    # The views share less and less as the level grows ...
    mi = [final[v]["mi"] for v in LEVELS]
    assert all(a > b + 0.5 for a, b in zip(mi, mi[1:]))
    assert abs(final[3]["mi"]) < 0.2  # nothing shared
    # ... with the class (log 4 = 1.39 nats at most) at the sweet spot.
    assert final[SWEET]["mi"] < math.log(4)
    assert all(r["mi"] <= r["mi_cap"] for r in result.runs)
    # Accuracy against I_NCE: a reverse U with its top inside the range.
    a, _, _, vertex = result.fit
    assert a < 0 and min(mi) < vertex < max(mi)
    assert "sweet spot: level 2" in result.table()


def test_tables_and_figures(swept):
    result, out = swept
    for name in ("information_plane.png", "knob.png", "summary.md"):
        assert os.path.getsize(os.path.join(out, name)) > 0
    rows = np.genfromtxt(
        os.path.join(out, "summary.csv"), delimiter=",", names=True
    )
    assert len(rows) == len(LEVELS)
    np.testing.assert_allclose(
        rows["accuracy"], [r["accuracy"] for r in result.summary]
    )
    runs = np.genfromtxt(
        os.path.join(out, "runs.csv"), delimiter=",", names=True
    )
    assert len(runs) == len(LEVELS) * 2  # values x seeds


def test_second_call_retrains_nothing(swept, data, monkeypatch):
    result, out = swept

    def no_training(*args, **kwargs):
        raise AssertionError("a stored run was retrained")

    monkeypatch.setattr(models.ContrastiveModel, "fit", no_training)
    again = analysis.sweep(KNOB, LEVELS, data, out=out, **SETTINGS)
    assert again.runs == result.runs
    assert again.sweet_spot == result.sweet_spot
    # A subset of the values is read back, nothing trained either.
    subset = analysis.sweep(KNOB, [1, 2], data, out=out, **SETTINGS)
    assert [r["value"] for r in subset.summary] == [1.0, 2.0]


def test_interrupted_run_is_the_only_one_retrained(swept, data, tmp_path):
    result, out = swept
    store = json.load(open(os.path.join(out, "runs.json")))
    lost = store["runs"].pop()  # as if killed before its last run
    resumed = str(tmp_path)
    with open(os.path.join(resumed, "runs.json"), "w") as f:
        json.dump(store, f)
    fits = []
    original = models.ContrastiveModel.fit

    def counting_fit(self, *args, **kwargs):
        fits.append(self)
        return original(self, *args, **kwargs)

    models.ContrastiveModel.fit = counting_fit
    try:
        again = analysis.sweep(KNOB, LEVELS, data, out=resumed, **SETTINGS)
    finally:
        models.ContrastiveModel.fit = original
    assert len(fits) == 2  # the fresh critic and the model of one run
    redone = [
        r
        for r in again.runs
        if r["value"] == lost["value"] and r["seed"] == lost["seed"]
    ]
    assert redone[0]["accuracy"] == pytest.approx(lost["accuracy"], abs=0.02)


def test_other_settings_are_refused(swept, data):
    _, out = swept
    with pytest.raises(ValueError, match="other settings.*epochs"):
        analysis.sweep(KNOB, LEVELS, data, out=out, **{**SETTINGS, "epochs": 4})


def hand_runs():
    """Two seeds, three values; value 2 best on average, seed 1 prefers 1."""
    accuracy = {(1, 0): 0.5, (2, 0): 0.7, (3, 0): 0.4}
    accuracy.update({(1, 1): 0.65, (2, 1): 0.6, (3, 1): 0.3})
    return [
        {
            "value": float(v),
            "label": str(v),
            "seed": s,
            "epochs": 5,
            "mi": 3.0 - v,
            "mi_stderr": 0.01,
            "mi_cap": 4.0,
            "model_mi": 2.0 - v,
            "accuracy": acc,
        }
        for (v, s), acc in accuracy.items()
    ]


def test_summary_and_sweet_spot_by_hand():
    runs = hand_runs()
    summary = summarise(runs, [1.0, 2.0, 3.0], [5])
    by_value = {r["value"]: r for r in summary}
    assert by_value[2.0]["accuracy"] == pytest.approx(0.65)
    assert by_value[2.0]["accuracy_sd"] == pytest.approx(
        np.std([0.7, 0.6], ddof=1)
    )
    spot = find_sweet_spot(runs, summary, numeric=True)
    assert spot["value"] == 2.0
    assert spot["seed_best"] == [2.0, 1.0]
    assert spot["wins"] == 1 and spot["seeds"] == 2
    assert spot["location"] == pytest.approx(1.5)
    assert spot["location_sd"] == pytest.approx(np.std([2, 1], ddof=1))
    assert spot["margin"] == pytest.approx(0.65 - 0.575)
    one_seed = [r for r in runs if r["seed"] == 0]
    single = summarise(one_seed, [1.0, 2.0, 3.0], [5])
    assert single[0]["accuracy_sd"] is None  # no spread from one seed
    spot = find_sweet_spot(one_seed, single, numeric=False)
    assert spot["location"] is None and spot["accuracy_sd"] is None


def test_bad_arguments_fail_before_training(data):
    with pytest.raises(ValueError, match="level 7"):
        analysis.sweep(KNOB, [0, 7], data, **SETTINGS)
    with pytest.raises(ValueError, match="repeats"):
        analysis.sweep(KNOB, [1, 1.0], data, **SETTINGS)
    with pytest.raises(ValueError, match="two batches"):
        analysis.sweep(KNOB, [0], data, **{**SETTINGS, "mi_batch_size": 512})
    with pytest.raises(ValueError, match="probe"):
        analysis.sweep(KNOB, [0], data, probe="svm", **SETTINGS)
    with pytest.raises(ValueError, match="unknown knob"):
        analysis.sweep("crop", [0.2], data, **SETTINGS)
    with pytest.raises(ValueError, match="epochs"):
        analysis.sweep(KNOB, [0], data, **{**SETTINGS, "epochs": [5, 2]})


def test_changed_views_are_refused(swept, data):
    # Same knob name and values, other views: the stored runs do not apply.
    _, out = swept
    shifted = analysis.Knob("level", lambda v: ToyViews(3 - int(v)))
    with pytest.raises(ValueError, match="views of value 0"):
        analysis.sweep(shifted, LEVELS, data, out=out, **SETTINGS)


def test_plain_view_functions(data, recwarn):
    def halves(level):
        return lambda x: (x[:, :6], x[:, 6:])

    result = analysis.sweep(
        halves, [0], data, **{**SETTINGS, "seeds": (0,), "mi_steps": 5}
    )
    assert result.knob.name == "halves"
    assert np.isfinite(result.runs[0]["mi"])
    assert not [w for w in recwarn if "Could not copy" in str(w.message)]
