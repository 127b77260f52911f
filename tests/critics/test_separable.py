import numpy as np
import pytest

from keras_infomin import critics
from keras_infomin.testing import run_layer_test


def _mlp(x, layers):
    for i, layer in enumerate(layers):
        x = x @ layer.kernel.numpy() + layer.bias.numpy()
        if i < len(layers) - 1:
            x = np.maximum(x, 0.0)
    return x


def test_scores_are_dot_products_of_towers():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 3)).astype("float32")
    y = rng.normal(size=(6, 5)).astype("float32")
    critic = critics.Separable(hidden_units=(8, 8), embedding_dim=4)
    got = critic(x, y).numpy()
    expected = _mlp(x, critic.x_tower) @ _mlp(y, critic.y_tower).T
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)


def test_defaults_follow_the_paper():
    critic = critics.Separable()
    assert critic.hidden_units == (100,)
    assert critic.embedding_dim == 100


def test_shared_tower_is_one_set_of_weights():
    x = np.ones((3, 4), "float32")
    critic = critics.Separable(hidden_units=(5,), embedding_dim=3, shared=True)
    critic(x, x)
    assert len(critic.trainable_weights) == 4
    with pytest.raises(ValueError, match="same size"):
        critics.Separable(shared=True)(x, np.ones((3, 5), "float32"))


def test_layer_contract():
    rng = np.random.default_rng(1)
    inputs = (
        rng.normal(size=(4, 3)).astype("float32"),
        rng.normal(size=(5, 2)).astype("float32"),
    )
    run_layer_test(
        critics.Separable(hidden_units=(6,), embedding_dim=3), inputs
    )
