"""The objective behind the losses and the metric: MINE, small batches.

Each test checks a behaviour through the public losses and metric against
float64 numpy (tests/bounds/numpy_reference.py).
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin import data
from keras_infomin import losses
from keras_infomin import metrics
from keras_infomin.testing import run_loss_test
from tests.bounds import numpy_reference as ref

NAMES = ["dv", "infonce", "interpolated", "js", "mine", "nwj", "smile", "tuba"]


def _lme_offdiagonal(scores):
    return ref._lme(scores[~np.eye(len(scores), dtype=bool)])


def test_mine_is_a_bound_a_loss_and_a_metric():
    rng = np.random.default_rng(0)
    first, second = (rng.normal(size=(5, 5)) for _ in range(2))
    assert bounds.get("mine") is bounds.mine
    loss = losses.get("mine", momentum=0.5)
    assert isinstance(loss, losses.MINE)
    run_loss_test(losses.MINE(momentum=0.5), first.astype("float32"))
    # The value is DV's; the running average of E_q[e^f] is carried.
    for scores in (first, second):
        value = float(loss(None, scores.astype("float32")))
        assert value == pytest.approx(-ref.dv(scores), abs=1e-5)
    expected = math.log(
        0.5 * math.exp(_lme_offdiagonal(first))
        + 0.5 * math.exp(_lme_offdiagonal(second))
    )
    state = float(loss.objective.log_partition_average.numpy())
    assert state == pytest.approx(expected, abs=1e-5)
    metric = metrics.MutualInformation("mine")
    metric.update_state(None, first.astype("float32"))
    assert float(metric.result()) == pytest.approx(ref.dv(first), abs=1e-5)


def _critic_model(loss, metric_bound="infonce"):
    keras.utils.set_random_seed(0)
    x_in, y_in = keras.Input((4,)), keras.Input((4,))
    scores = critics.Separable(hidden_units=(16,), output_dim=8)(x_in, y_in)
    model = keras.Model([x_in, y_in], scores)
    model.compile(
        optimizer=keras.optimizers.Adam(1e-2),
        loss=loss,
        metrics=[metrics.MutualInformation(metric_bound)],
    )
    return model


@pytest.mark.parametrize("name", NAMES)
def test_a_last_batch_of_one_trains_finite_and_is_left_out(name):
    # 2 x 32 + 1 rows: every epoch ends with a batch of one pair.
    x, y, _ = data.correlated_gaussians(65, dim=4, mi=1.0, seed=0)
    model = _critic_model(losses.get(name))
    history = model.fit([x, y], batch_size=32, epochs=3, verbose=0)
    assert np.isfinite(history.history["loss"]).all(), history.history
    assert np.isfinite(model.get_weights()[0]).all()
    # The metric averages the two full batches only (the tail has no
    # negatives: it does not count, rather than counting as 0).
    logs = model.evaluate([x, y], batch_size=32, verbose=0, return_dict=True)
    scores = model.predict([x, y], batch_size=65, verbose=0)
    batches = [scores[:32, :32], scores[32:64, 32:64]]
    expected = np.mean([ref.infonce(s) for s in batches])
    assert logs["mi_infonce"] == pytest.approx(expected, abs=1e-4)


def test_a_pair_batch_of_one_is_left_out_of_the_metric():
    z = np.random.default_rng(1).normal(size=(9, 2, 3)).astype("float32")
    metric = metrics.MutualInformation("infonce", temperature=0.5)
    loss = losses.InfoNCE(temperature=0.5)
    metric.update_state(None, z[:8])
    metric.update_state(None, z[8:])  # one pair: no negatives
    expected = ref.infonce(z[:8, 0] @ z[:8, 1].T / 0.5)
    assert float(metric.result()) == pytest.approx(expected, abs=1e-5)
    single = tf.Variable(z[8:])
    with tf.GradientTape() as tape:
        value = loss(None, single)
    assert float(value) == 0.0
    gradient = tape.gradient(value, single)  # None: not connected at all
    assert gradient is None or not np.any(gradient.numpy())


@pytest.mark.parametrize("name", ["infonce", "dv"])
def test_fewer_candidates_than_rows_is_a_clear_error_at_run_time(name):
    loss = losses.get(name)
    spec = tf.TensorSpec((None, 3), tf.float32)

    @tf.function(input_signature=[spec, spec])
    def pair_loss(z1, z2):
        return loss(None, (z1, z2))

    @tf.function(input_signature=[tf.TensorSpec((None, None), tf.float32)])
    def scores_loss(scores):
        return loss(None, scores)

    ones = np.ones((4, 3), "float32")
    with pytest.raises(tf.errors.InvalidArgumentError, match="as many rows"):
        pair_loss(ones, ones[:2])
    with pytest.raises(tf.errors.InvalidArgumentError, match="M >= N"):
        scores_loss(np.ones((4, 2), "float32"))
