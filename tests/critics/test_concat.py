import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import critics
from keras_infomin.critics.concat import _chunked_remat
from keras_infomin.testing import run_layer_test


def _naive(critic, x, y):
    """An MLP applied to each explicitly concatenated pair [x_i, y_j]."""
    w0 = np.concatenate(
        [critic.x_proj.kernel.numpy(), critic.y_proj.kernel.numpy()], axis=0
    )
    b0 = critic.x_proj.bias.numpy()
    out = np.zeros((len(x), len(y)))
    for i in range(len(x)):
        for j in range(len(y)):
            h = np.maximum(np.concatenate([x[i], y[j]]) @ w0 + b0, 0.0)
            for k, layer in enumerate(critic.pair_layers):
                h = h @ layer.kernel.numpy() + layer.bias.numpy()
                if k < len(critic.pair_layers) - 1:
                    h = np.maximum(h, 0.0)
            out[i, j] = h[0]
    return out


def _data(n=5, m=6):
    rng = np.random.default_rng(0)
    return (
        rng.normal(size=(n, 3)).astype("float32"),
        rng.normal(size=(m, 2)).astype("float32"),
    )


def test_matches_an_mlp_on_concatenated_pairs():
    x, y = _data()
    critic = critics.Concat(hidden_units=(7, 4))
    np.testing.assert_allclose(
        critic(x, y).numpy(), _naive(critic, x, y), rtol=1e-4, atol=1e-5
    )


def _value_and_grads(critic, x, y, graph):
    x, y = tf.constant(x), tf.constant(y)

    def step(x, y):
        with tf.GradientTape() as tape:
            tape.watch([x, y])
            loss = tf.reduce_sum(tf.sin(critic(x, y)))
        return loss, tape.gradient(loss, [x, y] + critic.trainable_weights)

    if graph:
        step = tf.function(step)
    loss, grads = step(x, y)
    return float(loss), [g.numpy() for g in grads]


@pytest.mark.parametrize("chunk_size", [1, 2, 5, 64])
@pytest.mark.parametrize("graph", [False, True])
def test_chunks_give_the_same_scores_and_gradients(chunk_size, graph):
    x, y = _data(n=5)
    full = critics.Concat(hidden_units=(6, 4))
    full(x, y)
    chunked = critics.Concat(hidden_units=(6, 4), chunk_size=chunk_size)
    chunked(x, y)
    chunked.set_weights(full.get_weights())
    ref_loss, ref_grads = _value_and_grads(full, x, y, graph)
    loss, grads = _value_and_grads(chunked, x, y, graph)
    assert loss == pytest.approx(ref_loss, abs=1e-5)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g, r, rtol=1e-4, atol=1e-5)


def test_backend_agnostic_chunked_path_matches():
    x, y = _data(n=5)
    critic = critics.Concat(hidden_units=(6, 4))
    expected = critic(x, y).numpy()
    a, b = critic.x_proj(x), critic.y_proj(y)
    got = _chunked_remat(critic._pair_scores, a, b, 2).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)


def test_defaults_and_layer_contract():
    assert critics.Concat().hidden_units == (200,)
    x, y = _data()
    run_layer_test(critics.Concat(hidden_units=(5,), chunk_size=2), (x, y))


def test_bad_arguments():
    with pytest.raises(ValueError, match="chunk_size"):
        critics.Concat(chunk_size=0)
    with pytest.raises(ValueError, match="hidden_units"):
        critics.Concat(hidden_units=())
