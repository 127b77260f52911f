import math

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import bounds
from tests.bounds import numpy_reference as ref


def test_js_fgan_matches_numpy_and_chance_value():
    scores = np.random.default_rng(0).normal(size=(5, 8))
    got = float(bounds.js_fgan(scores.astype("float32")))
    assert got == pytest.approx(ref.js_fgan(scores), abs=1e-5)
    zeros = np.zeros((4, 4), "float32")
    assert float(bounds.js_fgan(zeros)) == pytest.approx(-2 * math.log(2))


def test_js_value_is_tuba_and_gradient_is_js_fgan():
    s = tf.constant(np.random.default_rng(1).normal(size=(6, 6)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(s)
        value = bounds.js(s)
        objective = bounds.js_fgan(s)
    assert float(value) == pytest.approx(float(bounds.tuba(s)), abs=1e-6)
    np.testing.assert_allclose(
        tape.gradient(value, s).numpy(),
        tape.gradient(objective, s).numpy(),
        atol=1e-7,
    )


def test_documented_offset_at_the_js_optimal_critic(analytic_scores):
    # The JS-optimal critic is log r: our js() reads I, nwj() reads I - 1/e.
    mi = 1.5
    batches = analytic_scores(mi, 256, num_batches=8, seed=2)
    js = np.mean([float(bounds.js(s)) for s in batches])
    nwj = np.mean([float(bounds.nwj(s)) for s in batches])
    assert js == pytest.approx(mi, abs=0.1)
    assert nwj == pytest.approx(mi - math.exp(-1.0), abs=0.1)
    assert js - nwj == pytest.approx(math.exp(-1.0), abs=0.02)


def test_js_critic_training_reaches_log_density_ratio():
    # Gradient ascent on js_fgan over a free 2x2 table of critic values for
    # a discrete joint recovers log p(x,y)/(p(x)p(y)) up to the batch.
    joint = np.array([[0.4, 0.1], [0.1, 0.4]])
    marg = joint.sum(1, keepdims=True) * joint.sum(0, keepdims=True)
    f = tf.Variable(tf.zeros((2, 2)))

    def objective():
        pos = tf.reduce_sum(joint * -tf.nn.softplus(-f))
        neg = tf.reduce_sum(marg * tf.nn.softplus(f))
        return pos - neg

    for _ in range(2000):
        with tf.GradientTape() as tape:
            loss = -objective()
        f.assign_sub(5.0 * tape.gradient(loss, f))
    np.testing.assert_allclose(f.numpy(), np.log(joint / marg), atol=1e-3)
