import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import critics
from keras_infomin import data
from keras_infomin import distribute
from keras_infomin import losses
from keras_infomin.testing import run_loss_test
from tests.bounds import numpy_reference as ref

REFERENCE = {
    "infonce": ref.infonce,
    "nwj": ref.nwj,
    "tuba": ref.tuba,
    "dv": ref.dv,
    "js": ref.tuba,  # JS reports the TUBA(a=1) read-out
    "smile": lambda s: ref.smile(s, 5.0),
    "interpolated": lambda s: ref.interpolated(s, 0.01),
}


def _scores(n=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, n))


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_loss_is_minus_the_bound_and_serializes(name):
    scores = _scores()
    loss = losses.get(name)
    value = run_loss_test(loss, scores.astype("float32"))
    assert float(value) == pytest.approx(-REFERENCE[name](scores), abs=1e-4)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_temperature_divides_the_scores(name):
    scores = _scores(seed=1)
    loss = losses.get(name, temperature=0.5)
    value = float(loss(None, scores.astype("float32")))
    assert value == pytest.approx(-REFERENCE[name](scores / 0.5), abs=1e-4)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_pair_inputs_are_scored_with_the_inner_product(name):
    rng = np.random.default_rng(2)
    z1 = rng.normal(size=(6, 3)).astype("float32")
    z2 = rng.normal(size=(6, 3)).astype("float32")
    loss = losses.get(name, temperature=2.0, cosine=True)
    stacked = float(loss(None, np.stack([z1, z2], axis=1)))
    paired = float(loss(None, (z1, z2)))
    n1 = z1 / np.linalg.norm(z1, axis=1, keepdims=True)
    n2 = z2 / np.linalg.norm(z2, axis=1, keepdims=True)
    expected = -REFERENCE[name]((n1 @ n2.T / 2.0).astype("float64"))
    assert stacked == pytest.approx(expected, abs=1e-4)
    assert paired == pytest.approx(expected, abs=1e-4)


def test_infonce_symmetric_averages_both_directions():
    scores = _scores(seed=3)
    loss = losses.InfoNCE(symmetric=True)
    expected = -0.5 * (ref.infonce(scores) + ref.infonce(scores.T))
    assert float(loss(None, scores.astype("float32"))) == pytest.approx(
        expected, abs=1e-5
    )
    z = np.random.default_rng(3).normal(size=(5, 2, 4)).astype("float32")
    s = z[:, 0] @ z[:, 1].T
    fused = float(loss(None, z))
    assert fused == pytest.approx(
        -0.5 * (ref.infonce(s) + ref.infonce(s.T)), abs=1e-4
    )


def test_infonce_extra_negatives_in_a_pair():
    rng = np.random.default_rng(4)
    z1 = rng.normal(size=(4, 3)).astype("float32")
    z2 = rng.normal(size=(9, 3)).astype("float32")
    got = float(losses.InfoNCE(temperature=0.5)(None, (z1, z2)))
    assert got == pytest.approx(-ref.infonce(z1 @ z2.T / 0.5), abs=1e-4)


def test_target_mode_trains_the_distance_to_the_target():
    scores = _scores(seed=5)
    value = ref.nwj(scores)
    for target in (0.0, 2.0, 4.0):
        loss = losses.NWJ(target=target)
        got = float(loss(None, scores.astype("float32")))
        assert got == pytest.approx(abs(value - target), abs=1e-5)


def _gaussian_model(loss, seed=0):
    keras.utils.set_random_seed(seed)
    x_in, y_in = keras.Input((5,)), keras.Input((5,))
    critic = critics.Separable(hidden_units=(32,), output_dim=16)
    model = keras.Model([x_in, y_in], critic(x_in, y_in))
    model.compile(optimizer=keras.optimizers.Adam(5e-3), loss=loss)
    return model


def _held_out_infonce(model, x, y):
    return -float(losses.InfoNCE()(None, model([x, y])))


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_compile_and_fit_learn_a_critic(name):
    # Whatever the training bound, the critic's InfoNCE on held-out pairs
    # rises: the loss trains through compile/fit without labels.
    x, y, _ = data.correlated_gaussians(1024, dim=5, mi=2.0, seed=0)
    x_test, y_test, _ = data.correlated_gaussians(256, dim=5, mi=2.0, seed=9)
    model = _gaussian_model(losses.get(name))
    before = _held_out_infonce(model, x_test, y_test)
    history = model.fit([x, y], batch_size=64, epochs=4, verbose=0)
    assert all(np.isfinite(history.history["loss"]))
    after = _held_out_infonce(model, x_test, y_test)
    assert after > before + 0.5, (before, after)


def test_target_mode_fit_approaches_the_target():
    x, y, _ = data.correlated_gaussians(1024, dim=5, mi=3.0, seed=1)
    model = _gaussian_model(losses.InfoNCE(target=1.0))
    model.fit([x, y], batch_size=128, epochs=6, verbose=0)
    estimate = -float(losses.InfoNCE()(None, model.predict([x, y], 128)[:128]))
    assert estimate == pytest.approx(1.0, abs=0.3)


def test_loss_is_divided_by_replicas_under_mirrored_strategy():
    strategy = distribute.get_strategy(["/cpu:0", "/cpu:1"])
    scores = _scores(seed=6).astype("float32")
    loss = losses.InfoNCE()
    per_replica = strategy.run(lambda: loss(None, tf.constant(scores)))
    values = [
        float(v) for v in strategy.experimental_local_results(per_replica)
    ]
    assert values == pytest.approx([-ref.infonce(scores) / 2] * 2, abs=1e-5)
    unreduced = losses.InfoNCE(reduction=None)
    per_replica = strategy.run(lambda: unreduced(None, tf.constant(scores)))
    values = [
        float(v) for v in strategy.experimental_local_results(per_replica)
    ]
    assert values == pytest.approx([-ref.infonce(scores)] * 2, abs=1e-5)


def test_bad_inputs():
    scores = _scores().astype("float32")
    with pytest.raises(ValueError, match="sample_weight"):
        losses.InfoNCE()(None, scores, sample_weight=np.ones(6))
    with pytest.raises(ValueError, match="already a score matrix"):
        losses.NWJ(cosine=True)(None, scores)
    with pytest.raises(ValueError, match="y_pred"):
        losses.InfoNCE()(None, np.ones((2, 3, 4, 5), "float32"))
    with pytest.raises(ValueError, match="exactly two"):
        losses.InfoNCE()(None, (scores, scores, scores))
    with pytest.raises(ValueError, match="temperature"):
        losses.InfoNCE(temperature=0.0)
    with pytest.raises(ValueError, match="square"):
        losses.InfoNCE(symmetric=True)(None, np.ones((3, 5), "float32"))
    with pytest.raises(ValueError, match="target"):
        losses.NWJ(target=-1.0)
    with pytest.raises(ValueError, match="same size"):
        losses.DV()(
            None, (np.ones((3, 2), "float32"), np.ones((3, 4), "float32"))
        )
    with pytest.raises(TypeError, match="floating-point"):
        losses.InfoNCE()(None, np.ones((4, 4), "int32"))
    with pytest.raises(ValueError, match="Unknown loss"):
        losses.get("cpc")


def test_cap_reached_by_the_loss_in_nats():
    scores = 50.0 * np.eye(8, dtype="float32")
    assert float(losses.InfoNCE()(None, scores)) == pytest.approx(-math.log(8))
