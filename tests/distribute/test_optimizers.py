"""build_optimizers: two optimizers in a custom train_step, 2 replicas."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import distribute
from tests.distribute import toy

DEVICES = ["/cpu:0", "/cpu:1"]


def _momentum():
    return keras.optimizers.SGD(0.05, momentum=0.9)


def test_two_optimizers_match_single_device():
    ref_weights, ref_losses = toy.fit_toy(
        tf.distribute.get_strategy(), critic_optimizer=_momentum
    )
    weights, losses = toy.fit_toy(
        distribute.get_strategy(DEVICES), critic_optimizer=_momentum
    )
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5, atol=1e-5)
    for w, r in zip(weights, ref_weights):
        np.testing.assert_allclose(w, r, atol=1e-5)
    # Momentum on g really changed the steps compared with SGD alone.
    sgd_weights, _ = toy.fit_toy(tf.distribute.get_strategy())
    assert not np.allclose(weights[1], sgd_weights[1], atol=1e-3)


def test_without_building_the_second_optimizer_fit_fails():
    """The trap `build_optimizers` avoids (lazy state creation in a replica).

    The second optimizer creates its variables inside the replicated step
    on its first `apply`; the traced step then fails when it runs, on a
    placeholder left unfed in its graph (Keras 3.15, TF 2.21).
    """
    with pytest.raises(
        tf.errors.InvalidArgumentError,
        match="You must feed a value for placeholder tensor",
    ):
        toy.fit_toy(
            distribute.get_strategy(DEVICES),
            critic_optimizer=_momentum,
            build=False,
        )


def _built_model(strategy):
    with strategy.scope():
        model = toy.ToyContrastive()
        model((np.zeros((2, 3), "f"), np.zeros((2, 3), "f")))
    return model


def test_state_is_mirrored_and_built_optimizers_are_kept():
    strategy = distribute.get_strategy(DEVICES)
    model = _built_model(strategy)
    with strategy.scope():
        first = keras.optimizers.Adam()
        second = keras.optimizers.SGD(momentum=0.9)
    out = distribute.build_optimizers(model, first, (second, model.g))
    assert out == [first, second]
    assert first.built and second.built
    # Adam: iterations, learning rate, 2 moments per model variable.
    n = len(model.trainable_variables)
    assert len([v for v in first.variables if "momentum" in v.path]) == n
    # SGD momentum only for g's kernel.
    assert len([v for v in second.variables if "momentum" in v.path]) == 1
    for v in first.variables + second.variables:
        assert isinstance(v.value, tf.distribute.DistributedValues), v.path
    before = [id(v) for v in first.variables]
    distribute.build_optimizers(model, first)
    assert [id(v) for v in first.variables] == before


def test_bad_arguments():
    strategy = distribute.get_strategy(DEVICES)
    model = _built_model(strategy)
    with pytest.raises(ValueError, match="no variables"):
        distribute.build_optimizers(model, (keras.optimizers.Adam(), []))
    with pytest.raises(TypeError, match="keras.optimizers.Optimizer"):
        distribute.build_optimizers(model, "adam")
    with pytest.raises(TypeError, match="Keras model or layer"):
        distribute.build_optimizers(object(), keras.optimizers.Adam())
    with pytest.raises(ValueError, match="pair"):
        distribute.build_optimizers(model, (keras.optimizers.Adam(),))
    with pytest.raises(TypeError, match="list of variables"):
        distribute.build_optimizers(model, (keras.optimizers.Adam(), 3))
    with pytest.raises(ValueError, match="not built"):
        distribute.build_optimizers(
            model, (keras.optimizers.Adam(), keras.layers.Dense(2))
        )
    with pytest.raises(ValueError, match="not built"):
        distribute.build_optimizers(
            toy.ToyContrastive(), keras.optimizers.Adam()
        )
    with pytest.raises(ValueError, match="outside the scope"):
        distribute.build_optimizers(model, keras.optimizers.Adam())


class EveryOther(keras.Model):
    """Two dense layers; `b` is updated by its own optimizer every 2 steps."""

    def __init__(self):
        super().__init__()
        self.a = keras.layers.Dense(1)
        self.b = keras.layers.Dense(1)

    def call(self, x):
        return self.a(x) + self.b(x)

    def train_step(self, data):
        x, y = data
        with tf.GradientTape(persistent=True) as tape:
            loss = keras.ops.mean((self(x) - y) ** 2)
            scaled = distribute.scale_loss(loss)
        grads_a = tape.gradient(scaled, self.a.trainable_variables)
        grads_b = tape.gradient(scaled, self.b.trainable_variables)
        due = keras.ops.equal((self.optimizer.iterations + 1) % 2, 0)
        applied = distribute.apply_if(
            self.b_optimizer, grads_b, self.b.trainable_variables, due
        )
        self.optimizer.apply(grads_a, self.a.trainable_variables)
        return distribute.reducible_logs(
            {"loss": loss, "applied": keras.ops.cast(applied, "float32")}
        )


def _fit_every_other(strategy, x, y):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = EveryOther()
        model(x[:1])
        model.compile(optimizer=_momentum())
        model.b_optimizer = _momentum()
    distribute.build_optimizers(model, (model.b_optimizer, model.b))
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    history = model.fit(ds, epochs=1, shuffle=False, verbose=0)
    return model, history.history


def test_apply_if_matches_single_device_and_skips_off_steps():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 3)).astype("float32")
    y = rng.normal(size=(40, 1)).astype("float32")
    ref, ref_logs = _fit_every_other(tf.distribute.get_strategy(), x, y)
    model, logs = _fit_every_other(distribute.get_strategy(DEVICES), x, y)
    # 5 steps: the b optimizer ran on steps 2 and 4 only.
    assert int(ref.optimizer.iterations.numpy()) == 5
    assert int(ref.b_optimizer.iterations.numpy()) == 2
    assert int(model.b_optimizer.iterations.numpy()) == 2
    np.testing.assert_allclose(logs["loss"], ref_logs["loss"], rtol=1e-5)
    for var, ref_var in zip(
        model.variables + model.b_optimizer.variables,
        ref.variables + ref.b_optimizer.variables,
    ):
        np.testing.assert_allclose(
            var.numpy(), ref_var.numpy(), atol=1e-5, err_msg=var.path
        )
    # The momentum slots of b hold two updates, not five.
    velocity = [v for v in ref.b_optimizer.variables if "momentum" in v.path]
    assert velocity and np.abs(velocity[0].numpy()).max() > 0


def test_apply_if_rejects_mismatched_lengths():
    optimizer = keras.optimizers.SGD()
    variable = keras.Variable(np.zeros(2, "float32"))
    with pytest.raises(ValueError, match="same length"):
        distribute.apply_if(optimizer, [], [variable], True)
