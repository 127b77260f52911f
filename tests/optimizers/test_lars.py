import copy
import os
import tempfile

import keras
import numpy as np
import pytest

from keras_infomin.distribute import get_strategy
from keras_infomin.optimizers import LARS
from keras_infomin.optimizers import SIMCLR_EXCLUDE
from keras_infomin.optimizers import WarmupCosine


def numpy_lars(
    params,
    grads_per_step,
    lr_per_step,
    momentum,
    weight_decay,
    eta,
    nesterov,
    epsilon,
    decay_mask,
    adapt_mask,
):
    """Reference LARS written from the update equations."""
    params = [p.astype("float64").copy() for p in params]
    velocity = [np.zeros_like(p) for p in params]
    for grads, lr in zip(grads_per_step, lr_per_step):
        for i, (w, g) in enumerate(zip(params, grads)):
            g = g.astype("float64")
            if decay_mask[i]:
                g = g + weight_decay * w
            ratio = 1.0
            if adapt_mask[i]:
                w_norm, g_norm = np.linalg.norm(w), np.linalg.norm(g)
                if w_norm > 0 and g_norm > 0:
                    ratio = eta * w_norm / (g_norm + epsilon)
            step = lr * ratio * g
            velocity[i] = momentum * velocity[i] + step
            if nesterov:
                params[i] = w - (momentum * velocity[i] + step)
            else:
                params[i] = w - velocity[i]
    return params


def _layer_variables():
    # A dense kernel and bias, a batch-norm scale and a zero-initialised
    # kernel (trust ratio falls back to 1 while its norm is 0).
    rng = np.random.default_rng(0)
    dense = keras.layers.Dense(3, name="dense")
    dense.build((None, 4))
    bn = keras.layers.BatchNormalization(name="batch_normalization")
    bn.build((None, 3))
    zero = keras.Variable(np.zeros((2, 2), "float32"), name="zero_kernel")
    dense.kernel.assign(rng.normal(size=(4, 3)).astype("float32"))
    dense.bias.assign(rng.normal(size=(3,)).astype("float32"))
    return [dense.kernel, dense.bias, bn.gamma, zero]


@pytest.mark.parametrize("nesterov", [False, True])
@pytest.mark.parametrize(
    "exclusion",
    ["simclr", "rank", "separate_adaptation", "none"],
)
def test_matches_numpy_reference(nesterov, exclusion):
    variables = _layer_variables()
    kwargs = dict(momentum=0.9, weight_decay=0.05, eta=0.02, epsilon=1e-6)
    if exclusion == "simclr":
        optimizer_kwargs = dict(exclude_from_weight_decay=SIMCLR_EXCLUDE)
        decay = [True, False, False, True]
        adapt = [True, False, False, True]
    elif exclusion == "rank":
        optimizer_kwargs = dict(exclude_bias_and_norm=True)
        decay = [True, False, False, True]
        adapt = [True, False, False, True]
    elif exclusion == "separate_adaptation":
        optimizer_kwargs = dict(
            exclude_from_weight_decay=["bias"],
            exclude_from_layer_adaptation=["gamma", "zero"],
        )
        decay = [True, False, True, True]
        adapt = [True, True, False, False]
    else:
        optimizer_kwargs = {}
        decay = adapt = [True] * 4
    schedule = WarmupCosine(0.5, total_steps=6, warmup_steps=2)
    optimizer = LARS(
        learning_rate=schedule,
        nesterov=nesterov,
        **kwargs,
        **optimizer_kwargs,
    )
    rng = np.random.default_rng(1)
    start = [np.asarray(v).copy() for v in variables]
    steps = [
        [rng.normal(size=v.shape).astype("float32") for v in variables]
        for _ in range(5)
    ]
    for grads in steps:
        optimizer.apply(grads, variables)
    assert [optimizer.uses_weight_decay(v) for v in variables] == decay
    assert [optimizer.uses_layer_adaptation(v) for v in variables] == adapt
    lrs = [
        0.5 * t / 2 if t < 2 else 0.5 * (1 + np.cos(np.pi * (t - 2) / 4)) / 2
        for t in range(5)
    ]
    expected = numpy_lars(
        start,
        steps,
        lrs,
        nesterov=nesterov,
        decay_mask=decay,
        adapt_mask=adapt,
        **kwargs,
    )
    for v, e in zip(variables, expected):
        np.testing.assert_allclose(np.asarray(v), e, rtol=1e-5, atol=1e-6)


def test_trust_ratio_changes_the_step():
    # Same gradients, different kernel scale: LARS steps scale with ||w||.
    small = keras.Variable(np.full((3, 3), 0.1, "float32"))
    large = keras.Variable(np.full((3, 3), 10.0, "float32"))
    grad = np.ones((3, 3), "float32")
    LARS(1.0, momentum=0.0, eta=0.1).apply([grad, grad], [small, large])
    step_small = 0.1 - np.asarray(small)[0, 0]
    step_large = 10.0 - np.asarray(large)[0, 0]
    np.testing.assert_allclose(step_large / step_small, 100.0, rtol=1e-4)


def test_config_round_trip_and_registry():
    optimizer = LARS(
        learning_rate=WarmupCosine(1.0, 100, 10),
        weight_decay=1e-6,
        nesterov=True,
        exclude_from_weight_decay=SIMCLR_EXCLUDE,
    )
    config = optimizer.get_config()
    assert config["weight_decay"] == 1e-6
    clone = LARS.from_config(copy.deepcopy(config))  # it mutates config
    assert clone.get_config() == config
    rebuilt = keras.optimizers.deserialize(
        keras.optimizers.serialize(optimizer)
    )
    assert isinstance(rebuilt, LARS)
    assert rebuilt.exclude_from_layer_adaptation_patterns == list(
        SIMCLR_EXCLUDE
    )
    assert rebuilt.weight_decay is None  # base decoupled decay stays off


def _model(batch_norm=True):
    inputs = keras.Input((5,))
    h = keras.layers.Dense(8, name="dense")(inputs)
    if batch_norm:
        # Per-replica batch statistics would differ from single-device ones.
        h = keras.layers.BatchNormalization(name="batch_normalization")(h)
    h = keras.layers.Activation("relu")(h)
    outputs = keras.layers.Dense(2, name="head")(h)
    return keras.Model(inputs, outputs)


def test_state_survives_keras_round_trip():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 5)).astype("float32")
    y = rng.normal(size=(32, 2)).astype("float32")
    model = _model()
    model.compile(
        optimizer=LARS(
            learning_rate=WarmupCosine(2.0, 20, 3),
            weight_decay=1e-3,
            eta=0.01,
            exclude_from_weight_decay=SIMCLR_EXCLUDE,
        ),
        loss="mse",
    )
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    momenta = [np.asarray(m) for m in model.optimizer.momentums]
    assert all(np.abs(m).max() > 0 for m in momenta)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
    assert isinstance(loaded.optimizer, LARS)
    assert int(loaded.optimizer.iterations) == 4
    for a, b in zip(loaded.optimizer.momentums, momenta):
        np.testing.assert_array_equal(np.asarray(a), b)
    for m in (model, loaded):
        m.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(model.weights, loaded.weights):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)


def test_mirrored_strategy_matches_single_device():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype("float32")
    y = rng.normal(size=(16, 2)).astype("float32")
    weights = None
    results = []
    for strategy in (None, get_strategy(["/cpu:0", "/cpu:1"])):
        scope = strategy.scope() if strategy else tempfile.TemporaryDirectory()
        with scope:
            model = _model(batch_norm=False)
            if weights is None:
                weights = model.get_weights()
            model.set_weights(weights)
            model.compile(
                optimizer=LARS(
                    0.5, weight_decay=1e-3, exclude_bias_and_norm=True
                ),
                loss="mse",
            )
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        results.append(model.get_weights())
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-4)


def test_argument_errors():
    with pytest.raises(ValueError, match="momentum"):
        LARS(momentum=1.0)
    with pytest.raises(ValueError, match="eta"):
        LARS(eta=0.0)
    with pytest.raises(ValueError, match="weight_decay"):
        LARS(weight_decay=-1.0)
    with pytest.raises(TypeError, match="exclude_from_weight_decay"):
        LARS(exclude_from_weight_decay=[3])
