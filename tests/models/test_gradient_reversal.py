import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import models
from keras_infomin import testing
from keras_infomin import views
from keras_infomin.encoders import RealNVP


def _x(shape=(5, 3), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def test_layer_checks_and_identity_forward():
    x = _x()
    layer = models.GradientReversal(scale=0.5)
    out = testing.run_layer_test(layer, (x,))
    np.testing.assert_array_equal(out, x)
    assert layer.get_config()["scale"] == 0.5
    assert models.GradientReversal.from_config(layer.get_config()).scale == 0.5


@pytest.mark.parametrize("scale", [0.0, 0.5, 3.0])
def test_gradient_is_minus_scale_times_the_identitys(scale):
    x = tf.Variable(_x())
    w = tf.constant(_x(seed=1))
    layer = models.GradientReversal(scale=scale)

    def downstream(y):  # any non-linear loss of the layer's output
        return tf.reduce_sum(w * tf.sin(y) + 0.5 * y**2)

    with tf.GradientTape(persistent=True) as tape:
        reversed_loss = downstream(layer(x))
        plain_loss = downstream(tf.identity(x))
    np.testing.assert_array_equal(reversed_loss.numpy(), plain_loss.numpy())
    got = tape.gradient(reversed_loss, x).numpy()
    plain = tape.gradient(plain_loss, x).numpy()
    # Closed form of the identity path: w cos(x) + x.
    np.testing.assert_allclose(
        plain, w.numpy() * np.cos(x.numpy()) + x.numpy(), rtol=1e-5
    )
    np.testing.assert_allclose(got, -scale * plain, rtol=1e-6, atol=1e-7)


def test_only_the_layers_before_it_see_the_reversed_gradient():
    x = _x((6, 4))
    keras.utils.set_random_seed(0)
    before, after = keras.layers.Dense(3), keras.layers.Dense(2)
    layer = models.GradientReversal(scale=2.0)
    grads = []
    for between in (layer, lambda h: h):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(after(between(before(x))) ** 2)
        variables = before.trainable_variables + after.trainable_variables
        grads.append([g.numpy() for g in tape.gradient(loss, variables)])
    reversed_grads, plain_grads = grads
    for k, (got, ref) in enumerate(zip(reversed_grads, plain_grads)):
        factor = -2.0 if k < len(before.trainable_variables) else 1.0
        np.testing.assert_allclose(got, factor * ref, rtol=1e-6, atol=1e-7)


def test_nested_inputs_reverse_every_tensor():
    a, b = tf.Variable(_x((2, 3))), tf.Variable(_x((2, 1), seed=2))
    layer = models.GradientReversal(scale=0.25)
    with tf.GradientTape() as tape:
        out = layer({"a": a, "pair": (b, a)})
        loss = (
            tf.reduce_sum(out["a"])
            + 2.0 * tf.reduce_sum(out["pair"][0])
            + 3.0 * tf.reduce_sum(out["pair"][1])
        )
    np.testing.assert_array_equal(out["pair"][0].numpy(), b.numpy())
    grad_a, grad_b = tape.gradient(loss, [a, b])
    np.testing.assert_allclose(grad_a.numpy(), np.full((2, 3), -0.25 * 4.0))
    np.testing.assert_allclose(grad_b.numpy(), np.full((2, 1), -0.25 * 2.0))
    assert layer.compute_output_shape(((None, 3), (None, 1))) == (
        (None, 3),
        (None, 1),
    )


def test_bad_scale():
    for scale in (-1.0, float("nan"), "1", True, None):
        with pytest.raises(ValueError, match="`scale` must be a finite number"):
            models.GradientReversal(scale=scale)


def _sgd_step_pairs(x, target, steps, learning_rate):
    """A generator `g` and an encoder `f` trained two ways from one init.

    Returns `(reversal, two_player)`: the weights of `g` and `f` after
    `steps` SGD steps of (a) one loss `L = mean((f(R(g(x))) - t)^2)` with a
    `GradientReversal` `R` and one optimizer over all variables, and (b)
    `f` minimising `L`, `g` minimising `-L`, each with its own optimizer.
    """
    keras.utils.set_random_seed(0)
    g, f = keras.layers.Dense(3, activation="tanh"), keras.layers.Dense(2)
    f(g(x))
    init = [w.numpy().copy() for w in g.weights + f.weights]

    def loss_fn(y):
        return tf.reduce_mean((y - target) ** 2)

    # (a) one loss, one optimizer, the reversal layer between the players.
    reversal = models.GradientReversal()
    optimizer = keras.optimizers.SGD(learning_rate)
    variables = g.trainable_variables + f.trainable_variables
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_fn(f(reversal(g(x))))
        optimizer.apply(tape.gradient(loss, variables), variables)
    single = [w.numpy().copy() for w in g.weights + f.weights]

    # (b) from the same initial weights: two losses, two optimizers.
    for w, value in zip(g.weights + f.weights, init):
        w.assign(value)
    f_opt = keras.optimizers.SGD(learning_rate)
    g_opt = keras.optimizers.SGD(learning_rate)
    for _ in range(steps):
        with tf.GradientTape(persistent=True) as tape:
            loss = loss_fn(f(g(x)))
            negated = -loss
        f_grads = tape.gradient(loss, f.trainable_variables)
        g_grads = tape.gradient(negated, g.trainable_variables)
        del tape
        g_opt.apply(g_grads, g.trainable_variables)
        f_opt.apply(f_grads, f.trainable_variables)
    two = [w.numpy().copy() for w in g.weights + f.weights]

    # (c) plain joint minimisation (no reversal), for contrast.
    for w, value in zip(g.weights + f.weights, init):
        w.assign(value)
    plain_opt = keras.optimizers.SGD(learning_rate)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = loss_fn(f(g(x)))
        plain_opt.apply(tape.gradient(loss, variables), variables)
    plain = [w.numpy().copy() for w in g.weights + f.weights]
    return init, single, two, plain, len(g.weights)


@pytest.mark.parametrize("steps", [1, 3])
def test_single_optimizer_with_reversal_equals_two_player_sgd(steps):
    x = _x((8, 4))
    target = _x((8, 2), seed=3)
    init, single, two, plain, num_g = _sgd_step_pairs(x, target, steps, 0.1)
    for a, b in zip(single, two):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    # The step is not trivial: every weight moved, and g moved the other
    # way from plain joint minimisation.
    for a, b in zip(single, init):
        assert not np.allclose(a, b)
    g_reversal = np.concatenate(
        [(a - b).ravel() for a, b in zip(single, init)][:num_g]
    )
    g_plain = np.concatenate(
        [(a - b).ravel() for a, b in zip(plain, init)][:num_g]
    )
    if steps == 1:
        np.testing.assert_allclose(g_reversal, -g_plain, rtol=1e-5, atol=1e-7)
    assert np.dot(g_reversal, g_plain) < 0


def test_contrastive_model_with_reversal_equals_infomin_simultaneous_sgd():
    """`InfoMinModel`'s docstring claim, checked on its own models."""
    images = np.random.default_rng(0).random((16, 4, 4, 3)).astype("float32")

    def parts():
        generator = views.FlowViewGenerator(
            RealNVP(2, (8,), coupling="affine", init_std=0.1, seed=0)
        )
        encoders = [
            keras.Sequential(
                [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(4)]
            )
            for _ in range(2)
        ]
        return generator, encoders

    keras.utils.set_random_seed(0)
    g1, e1 = parts()
    game = models.InfoMinModel(g1, e1)
    game.compile(
        encoder_optimizer=keras.optimizers.SGD(0.05),
        generator_optimizer=keras.optimizers.SGD(0.05),
    )
    game.build((None, 4, 4, 3))
    g2, e2 = parts()
    single = models.ContrastiveModel(
        encoder=e2, view_layer=views.Compose([g2, models.GradientReversal()])
    )
    single.compile(optimizer=keras.optimizers.SGD(0.05))
    single.build((None, 4, 4, 3))
    for a, b in zip([g1] + e1, [g2] + e2):
        b.set_weights(a.get_weights())
    initial = [w.copy() for w in g1.get_weights()]
    for _ in range(3):
        game_logs = game.train_on_batch(images, return_dict=True)
        single_logs = single.train_on_batch(images, return_dict=True)
    assert game_logs["mi"] == pytest.approx(single_logs["mi"], abs=1e-5)
    for a, b in zip([g1] + e1, [g2] + e2):
        for wa, wb in zip(a.get_weights(), b.get_weights()):
            np.testing.assert_allclose(wa, wb, rtol=1e-5, atol=1e-6)
    assert any(not np.allclose(a, b) for a, b in zip(initial, g1.get_weights()))
