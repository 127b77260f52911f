"""`estimate_mi`: the held-out protocol against closed forms, every name."""

import math

import numpy as np
import pytest

import keras_infomin
from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin import data
from keras_infomin import encoders
from keras_infomin import estimators
from keras_infomin.evaluation import EncoderCritic
from keras_infomin.evaluation import MIResult
from keras_infomin.evaluation import estimate_mi
from keras_infomin.evaluation import mutual_information

TINY = {"max_steps": 4, "eval_every": 2, "verbose": 0}


def test_correlated_gaussians_match_the_closed_form():
    x, y, true_mi = data.correlated_gaussians(4000, dim=2, mi=0.8, seed=0)
    result = keras_infomin.estimate_mi(x, y, max_steps=1500, verbose=0)
    assert isinstance(result, MIResult)
    assert result.value == pytest.approx(true_mi, abs=0.08)
    low, high = result.interval
    assert low < true_mi < high
    assert high - low < 0.2
    assert result.bits == pytest.approx(result.value / math.log(2))
    assert result.interval_bits[0] == pytest.approx(low / math.log(2))
    # Held out: half the pairs, read in 7 batches of 256 (cap log 256).
    assert (result.n_train, result.n_held_out) == (2000, 2000)
    assert len(result.batch_values) == 7
    assert result.value == pytest.approx(np.mean(result.batch_values))
    assert result.cap == pytest.approx(math.log(256))
    assert result.best_step in [h["step"] for h in result.history]
    assert "0.8" in str(result) or "0.7" in str(result)


def test_upper_bound_brackets_the_truth_from_above():
    x, y, true_mi = data.correlated_gaussians(4000, dim=2, mi=0.8, seed=1)
    rho = data.rho_for_mi(true_mi, 2)
    club = estimate_mi(x, y, "club", max_steps=600, verbose=0)
    # CLUB with the Gaussian conditional: 2 rho^2 / (1 - rho^2) = 1.53.
    assert club.value == pytest.approx(2 * rho**2 / (1 - rho**2), abs=0.15)
    assert club.cap is None
    assert "log_likelihood" in club.history[0]
    assert isinstance(club.critic, critics.GaussianConditional)


def test_early_stopping_and_seeds():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(800, 2)), rng.normal(size=(800, 2))
    settings = {"max_steps": 2000, "eval_every": 20, "patience": 2}
    first = estimate_mi(x, y, verbose=0, **settings)
    # Independent arrays: nothing to learn, training stops early, two
    # readings after the best one.
    assert first.steps < 2000
    assert first.steps == first.history[-1]["step"]
    assert first.steps - first.best_step == 2 * 20
    best = max(h["held_out"] for h in first.history)
    assert first.value == best
    assert abs(first.value) < 0.05
    again = estimate_mi(x, y, verbose=0, **settings)
    assert again.value == first.value
    assert again.history == first.history
    other = estimate_mi(x, y, seed=1, verbose=0, **settings)
    assert other.value != first.value


@pytest.mark.parametrize("name", mutual_information.ESTIMATORS)
def test_every_estimator_runs_by_name(name):
    x, y, _ = data.correlated_gaussians(160, dim=2, mi=1.0, seed=0)
    result = estimate_mi(x, y, name, **TINY)
    assert result.estimator == name
    assert np.isfinite(result.value)
    if name in estimators.ESTIMATORS:
        assert result.interval is None and result.critic is None
        expected = estimators.get(name)(*result.preprocess(x, y))
        assert result.value == pytest.approx(expected)
        return
    assert result.steps == 4 and len(result.history) == 2
    assert result.interval[0] <= result.value <= result.interval[1]
    if name == "infonce":
        assert result.cap == pytest.approx(math.log(20))
    assert (result.cap is None) == (name not in ("infonce", "interpolated"))
    if name in bounds.UPPER_BOUNDS:
        assert isinstance(result.critic, critics.GaussianConditional)
    else:
        assert isinstance(result.critic, critics.Separable)


def test_images_with_a_conv_critic():
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(400, 1, 1, 1))
    images = signal + 0.3 * rng.normal(size=(400, 8, 8, 1))
    other = signal[:, 0, 0] + 0.3 * rng.normal(size=(400, 1))
    result = estimate_mi(images, other, max_steps=200, eval_every=50)
    assert isinstance(result.critic, EncoderCritic)
    assert isinstance(result.critic.x_encoder, encoders.ConvNet)
    assert isinstance(result.critic.y_encoder, encoders.MLP)
    assert result.value > 0.3  # the true MI is well above 1 nat
    images_only = estimate_mi(images, images[::-1], critic="conv", **TINY)
    assert np.isfinite(images_only.value)


def test_copula_preprocessing_is_a_per_column_rank_map():
    x, y, _ = data.correlated_gaussians(50, dim=2, mi=1.0, seed=0)
    preprocess = mutual_information.Preprocess("copula", x, np.exp(y))
    px, py = preprocess(x, np.exp(y))
    # Monotone maps of a column give the same ranks, hence the same output.
    qx, qy = mutual_information.Preprocess("copula", x**3, y)(x**3, y)
    np.testing.assert_allclose(px, qx, atol=1e-6)
    np.testing.assert_allclose(py, qy, atol=1e-6)
    np.testing.assert_allclose(np.sort(px[:, 0]), np.sort(py[:, 1]))


BAD = [
    ((np.zeros((10, 2)), np.zeros((9, 2))), "same number of rows"),
    ((np.ones((3, 1)), np.ones((3, 1))), "At least 5 paired rows"),
    ((np.full((10, 1), np.nan), np.ones((10, 1))), "NaN or infinite"),
    (
        (np.ones((10, 2)), np.arange(20.0).reshape(10, 2)),
        "constant columns",
    ),
]


@pytest.mark.parametrize("pair, message", BAD)
def test_bad_inputs_are_refused_as_by_check_samples(pair, message):
    with pytest.raises(ValueError, match=message):
        estimators.check_samples(*pair)
    with pytest.raises(ValueError, match=message):
        estimate_mi(*pair, verbose=0)


def test_bad_settings():
    x, y, _ = data.correlated_gaussians(100, dim=1, mi=0.5, seed=0)
    with pytest.raises(ValueError, match="Unknown estimator"):
        estimate_mi(x, y, "infoNCE")
    with pytest.raises(ValueError, match="held_out"):
        estimate_mi(x, y, held_out=1.0)
    with pytest.raises(ValueError, match="held-out part holds 2 pairs"):
        estimate_mi(x[:8], y[:8], held_out=0.25)
    with pytest.raises(ValueError, match="batch_size=80"):
        estimate_mi(x, y, batch_size=80)
    with pytest.raises(ValueError, match="conditional density"):
        estimate_mi(x, y, "club", critic=critics.Separable())
    images = np.random.default_rng(0).normal(size=(100, 4, 4, 1))
    with pytest.raises(ValueError, match="reads vectors"):
        estimate_mi(images, y, critic="concat")
    with pytest.raises(ValueError, match="every row is the same"):
        estimate_mi(np.ones((100, 4, 4, 1)), y)
