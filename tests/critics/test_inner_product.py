import math

import keras
import numpy as np
import pytest

from keras_infomin import critics
from keras_infomin.testing import run_layer_test


def _data(n=5, m=7, d=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype("float32")
    y = rng.normal(size=(m, d)).astype("float32")
    return x, y


def test_scores_are_dot_products_over_temperature():
    x, y = _data()
    got = critics.InnerProduct(temperature=0.5)(x, y).numpy()
    np.testing.assert_allclose(got, x @ y.T / 0.5, rtol=1e-5, atol=1e-5)


def test_cosine_scores_use_unit_vectors():
    x, y = _data()
    got = critics.InnerProduct(cosine=True, temperature=0.1)(x, y).numpy()
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    yn = y / np.linalg.norm(y, axis=1, keepdims=True)
    np.testing.assert_allclose(got, xn @ yn.T / 0.1, rtol=1e-5, atol=1e-5)


def test_learned_temperature_round_trips_and_trains():
    x, y = _data()
    critic = critics.InnerProduct(cosine=True, learn_temperature=True)
    run_layer_test(critic, (x, y))
    assert critic.log_inverse_temperature.trainable


def test_learned_temperature_is_clipped():
    x, y = _data()
    critic = critics.InnerProduct(
        learn_temperature=True, max_inverse_temperature=10.0
    )
    critic(x, y)
    critic.log_inverse_temperature.assign(math.log(1000.0))
    got = critic(x, y).numpy()
    np.testing.assert_allclose(got, 10.0 * x @ y.T, rtol=1e-5, atol=1e-4)


def test_serialization_and_functional_use():
    x, y = _data()
    run_layer_test(critics.InnerProduct(temperature=0.2), (x, y))


def test_bad_inputs():
    x, y = _data()
    with pytest.raises(ValueError, match="temperature"):
        critics.InnerProduct(temperature=0.0)
    with pytest.raises(ValueError, match="temperature"):
        critics.InnerProduct(temperature=-1.0)
    with pytest.raises(ValueError, match="at least as many rows"):
        critics.InnerProduct()(x, y[:3])
    with pytest.raises(ValueError, match="same size"):
        critics.InnerProduct()(x, np.ones((7, 3), "float32"))
    with pytest.raises(TypeError, match="floating-point"):
        critics.InnerProduct()(x.astype("int32"), y.astype("int32"))
    with pytest.raises(ValueError, match="rank 2"):
        critics.InnerProduct()(x[None], y[None])


def test_get_by_name():
    assert isinstance(critics.get("bilinear"), critics.Bilinear)
    assert critics.get("cosine").cosine
    config = keras.saving.serialize_keras_object(critics.Concat())
    assert isinstance(critics.get(config), critics.Concat)
    with pytest.raises(ValueError, match="Unknown critic"):
        critics.get("mlp")
