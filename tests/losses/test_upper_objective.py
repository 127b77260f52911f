"""The upper bounds as objective names and losses: CLUB and L1Out.

The objective splits an upper bound in two: the value (the bound, with
q's weights held fixed) that an encoder minimises, and the log-likelihood
(with the embeddings held fixed) that q maximises. Checked against the
bound functions, by gradients, and in a two-player trainer.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin import data
from keras_infomin import losses
from keras_infomin import models
from keras_infomin.models.trainer import Player
from keras_infomin.models.trainer import Terms
from tests.bounds import numpy_reference as ref


@pytest.mark.parametrize("name", ["club", "l1out"])
def test_loss_on_log_likelihoods_fits_q_and_reports_the_bound(name):
    log_q = np.random.default_rng(0).normal(scale=2.0, size=(6, 6))
    loss = losses.get(name)
    assert isinstance(loss, (losses.CLUB, losses.L1Out))
    matrix = tf.Variable(log_q.astype("float32"))
    with tf.GradientTape() as tape:
        value = loss(None, matrix)
    expected_bound = ref.club(log_q) if name == "club" else ref.l1out(log_q)
    expected = expected_bound - np.mean(np.diag(log_q))
    assert float(value) == pytest.approx(expected, abs=1e-5)
    # Only the likelihood carries a gradient: -1/N on the diagonal.
    grad = tape.gradient(value, matrix).numpy()
    np.testing.assert_allclose(grad, -np.eye(6) / 6, atol=1e-7)
    estimate = loss.objective.estimate(log_q.astype("float32"))
    assert float(estimate.value) == pytest.approx(expected_bound, abs=1e-5)
    restored = type(loss).from_config(loss.get_config())
    assert restored.objective.bound == name


def test_pair_value_moves_the_embeddings_and_likelihood_moves_q():
    rng = np.random.default_rng(1)
    z1 = tf.Variable(rng.normal(size=(8, 3)).astype("float32"))
    z2 = tf.Variable(rng.normal(size=(8, 2)).astype("float32"))
    q = critics.GaussianConditional(hidden_units=(8,))
    objective = losses.Objective("club", critic=q)
    with tf.GradientTape(persistent=True) as tape:
        estimate = objective.estimate_pair(z1, z2)
        direct = bounds.club(q(z1, z2))
        likelihood = bounds.conditional_log_likelihood(q(z1, z2))
    assert float(estimate.value) == pytest.approx(float(direct), abs=1e-5)
    assert float(estimate.log_likelihood) == pytest.approx(
        float(likelihood), abs=1e-5
    )
    weights = q.trainable_variables
    # The bound reaches the embeddings as the plain bound does, never q.
    for mine, plain in zip(
        tape.gradient(estimate.value, [z1, z2]),
        tape.gradient(direct, [z1, z2]),
    ):
        np.testing.assert_allclose(mine.numpy(), plain.numpy(), atol=1e-5)
    assert all(g is None for g in tape.gradient(estimate.value, weights))
    # The likelihood reaches q as the plain likelihood does, never z.
    assert tape.gradient(estimate.log_likelihood, [z1, z2]) == [None, None]
    for mine, plain in zip(
        tape.gradient(estimate.log_likelihood, weights),
        tape.gradient(likelihood, weights),
    ):
        np.testing.assert_allclose(mine.numpy(), plain.numpy(), atol=1e-5)
    loss = objective.loss(estimate)
    expected = float(direct) - float(likelihood)
    assert float(loss) == pytest.approx(expected, abs=1e-5)


def test_mi_estimator_fits_q_and_reads_the_gaussian_bounds():
    """CLUB with the fitted q reaches its closed form; L1Out the true MI."""
    x, y, true_mi = data.correlated_gaussians(4000, dim=2, mi=0.6, seed=0)
    rho = data.rho_for_mi(true_mi, 2)
    model = models.MIEstimator(critics.GaussianConditional((16,)), "club")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, y, batch_size=200, epochs=6, verbose=0)
    club_true_conditional = 2 * rho**2 / (1 - rho**2)  # 1.64 nats
    held_x, held_y, _ = data.correlated_gaussians(1000, 2, mi=0.6, seed=1)
    logs = model.evaluate(held_x, held_y, batch_size=500, return_dict=True)
    assert logs["mi"] == pytest.approx(club_true_conditional, abs=0.15)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss=losses.L1Out())
    logs = model.evaluate(held_x, held_y, batch_size=500, return_dict=True)
    assert logs["mi"] == pytest.approx(true_mi, abs=0.1)


class ClubGame(models.Trainer):
    """An encoder minimises CLUB(z; y) while q fits q(y | z)."""

    OPTIMIZERS = {
        "optimizer": lambda: keras.optimizers.Adam(1e-2),
        "q_optimizer": lambda: keras.optimizers.Adam(1e-2),
    }

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.encoder = keras.layers.Dense(2, name="encoder")
        q = critics.GaussianConditional((16,))
        self.objective = losses.Objective("club", critic=q)
        self.track_logs("loss", "mi", "log_likelihood")

    def players(self):
        q = self.objective.critic
        return [
            Player("encoder", self.optimizer, log="loss"),
            Player("q", self.q_optimizer, layers=[q]),
        ]

    def build(self, input_shape):
        self.encoder.build(input_shape)
        self.objective.critic.build((None, 2), (None, 2))
        self.built = True
        self.build_optimizers()

    def input_shape_of(self, data):
        return (None, data[0].shape[-1])

    def compute_terms(self, data, training):
        x, y = data[0], data[1]
        estimate = self.objective.estimate_pair(self.encoder(x), y)
        loss = self.objective.loss(estimate)
        return Terms(
            losses={"encoder": loss, "q": loss},
            logs={
                "mi": estimate.value,
                "log_likelihood": estimate.log_likelihood,
            },
            weight=estimate.weight,
        )


def _linear_fit(z, y):
    """R^2 of y from z, and the mean log-likelihood of that Gaussian fit."""
    a = np.concatenate([z, np.ones((len(z), 1))], axis=1)
    residual = y - a @ np.linalg.lstsq(a, y, rcond=None)[0]
    variance = residual.var(axis=0)
    r2 = 1.0 - variance.sum() / y.var(axis=0).sum()
    log_likelihood = -0.5 * np.sum(np.log(2 * math.pi * variance) + 1.0)
    return r2, log_likelihood


def test_a_player_minimises_club_while_another_fits_q():
    """x = [s, noise], y depends on s: the encoder learns to drop s."""
    rng = np.random.default_rng(2)
    s = rng.normal(size=(2048, 2))
    y = (0.9 * s + math.sqrt(1 - 0.81) * rng.normal(size=s.shape)).astype(
        "float32"
    )
    x = np.concatenate([s, rng.normal(size=s.shape)], 1).astype("float32")
    keras.utils.set_random_seed(2)
    game = ClubGame()
    game.compile(optimizer=keras.optimizers.Adam(3e-3))
    game.build((None, 4))
    before, _ = _linear_fit(np.asarray(game.encoder(x)), y)
    history = game.fit(x, y, batch_size=128, epochs=15, verbose=0).history
    after, best_log_likelihood = _linear_fit(np.asarray(game.encoder(x)), y)
    # The encoder removed most of what z told about y (0.26 -> 0.04) ...
    assert before > 0.2 and after < 0.25 * before, (before, after)
    assert history["mi"][-1] < 0.3 * max(history["mi"])
    # ... while q kept fitting y given z: its likelihood is the best
    # linear-Gaussian one (a q that minimised the bound would lose it).
    assert history["log_likelihood"][-1] == pytest.approx(
        best_log_likelihood, abs=0.05
    )


def test_upper_bound_errors():
    pair = (np.ones((4, 3), "float32"), np.ones((4, 3), "float32"))
    with pytest.raises(ValueError, match="log densities"):
        losses.Objective("club").estimate(pair)
    for kwargs in ({"temperature": 0.5}, {"symmetric": True}):
        with pytest.raises(ValueError, match="do not apply"):
            losses.Objective("l1out", **kwargs)
    with pytest.raises(ValueError, match="square"):
        losses.L1Out()(None, np.zeros((3, 5), "float32"))
    with pytest.raises(ValueError, match="upper bound"):
        models.MIEstimator(bound="clubs")
    assert ops.shape(losses.CLUB()(None, np.zeros((3, 5), "float32"))) == ()
