"""Trainer pitfalls under tf.distribute: several optimizers, mixed precision.

A toy of the InfoMin game stands in for trainers with several optimizers:
an encoder `f` ascends an InfoNCE bound between `f(x)` and `v(y)` while a
"view" map `v` descends it, each with its own stateful optimizer (SGD with
momentum, Adam). The pattern under test, which such trainers follow:

- `compile(encoder_optimizer, view_optimizer)` hands the first optimizer
  to `keras.Model.compile`, so Keras creates no default optimizer that
  would be built over every weight and never stepped;
- the optimizers are created in the strategy's scope and built there
  before `fit` (`distribute.build_optimizers`): a stateful optimizer
  building its slots lazily inside the distributed step fails (Keras issue
  23085; `tests/distribute/test_optimizers.py` shows the failure).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import distribute
from tests.distribute import toy

DEVICES = ["/cpu:0", "/cpu:1"]
STEPS = 3
GLOBAL_BATCH = 8


class AdversarialToy(keras.Model):
    """`f` maximises InfoNCE(f(x), v(y)); `v` minimises it."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.f = keras.layers.Dense(4, use_bias=False, name="f")
        self.v = keras.layers.Dense(4, use_bias=False, name="v")

    def call(self, inputs, training=False):
        x, y = inputs
        return self.f(x), self.v(y)

    def compile(self, encoder_optimizer, view_optimizer, default=False):
        if default:  # the pitfall: Keras creates its default optimizer
            super().compile()
        else:
            super().compile(optimizer=encoder_optimizer)
        self.encoder_optimizer = encoder_optimizer
        self.view_optimizer = view_optimizer
        if self.built:
            distribute.build_optimizers(
                self, (encoder_optimizer, self.f), (view_optimizer, self.v)
            )

    def train_step(self, data):
        x, y = data
        with tf.GradientTape() as tape:
            zx, zy = self((x, y), training=True)
            zx, zy = tf.cast(zx, tf.float32), tf.cast(zy, tf.float32)
            logits = tf.matmul(zx, distribute.all_gather(zy), transpose_b=True)
            labels = distribute.local_batch_indices(zx)
            loss = tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
            )
            scaled = distribute.scale_loss(loss)
        fv, vv = self.f.trainable_variables, self.v.trainable_variables
        grads = tape.gradient(scaled, fv + vv)
        self.encoder_optimizer.apply_gradients(zip(grads[: len(fv)], fv))
        ascent = [-g for g in grads[len(fv) :]]
        self.view_optimizer.apply_gradients(zip(ascent, vv))
        return distribute.reducible_logs({"nce": loss})


def _fit(strategy, default=False):
    x, y = toy.make_pairs(n=STEPS * GLOBAL_BATCH)
    with strategy.scope():
        model = AdversarialToy()
        model((x[:2], y[:2]))
        model.set_weights(toy.initial_weights())
        model.compile(
            keras.optimizers.SGD(0.05, momentum=0.9),
            keras.optimizers.Adam(0.01),
            default=default,
        )
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(GLOBAL_BATCH)
    history = model.fit(
        ds, epochs=STEPS, steps_per_epoch=1, shuffle=False, verbose=0
    )
    return model, history.history["nce"]


@pytest.fixture
def policy(request):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(request.param)
    yield request.param
    keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"], indirect=True)
def test_two_stateful_optimizers_match_one_replica(policy):
    """Both optimizers step, stay float32 and match one replica.

    Under `mixed_bfloat16` the layers compute in bfloat16 while weights,
    gradients and optimizer slots stay float32; Keras adds no loss scaling
    (that is for float16), so both optimizers take plain gradients. The
    replicas' bfloat16 partial sums are rounded in a different order than
    one replica's, hence the looser tolerance there.
    """
    ref, ref_losses = _fit(tf.distribute.get_strategy())
    model, losses = _fit(distribute.get_strategy(DEVICES))
    atol = 1e-5 if policy == "float32" else 2e-3
    np.testing.assert_allclose(losses, ref_losses, rtol=atol, atol=atol)
    for w, r, w0 in zip(
        model.get_weights(), ref.get_weights(), toy.initial_weights()
    ):
        assert w.dtype == np.float32
        np.testing.assert_allclose(w, r, atol=atol)
        assert not np.allclose(w, w0, atol=1e-3)  # both players moved
    assert model.f.compute_dtype == policy.replace("mixed_", "")
    for opt in (model.encoder_optimizer, model.view_optimizer):
        assert not isinstance(opt, keras.optimizers.LossScaleOptimizer)
        assert int(opt.iterations.numpy()) == STEPS
        for var in opt.variables:
            assert isinstance(var.value, tf.distribute.DistributedValues)
            if var.dtype != "int64":
                assert var.dtype == "float32", var.path
    assert model.optimizer is model.encoder_optimizer


def test_no_default_optimizer_is_left_unused():
    """With the pattern, every optimizer the model tracks was stepped.

    `super().compile()` without an optimizer (`default=True`) makes Keras
    create RMSprop as `model.optimizer`; under a strategy `fit` builds it
    over all weights (slots in memory and in every checkpoint) and never
    applies it.
    """
    strategy = distribute.get_strategy(DEVICES)
    model, _ = _fit(strategy)
    tracked = {id(o): o for o in (model.optimizer, model.encoder_optimizer)}
    tracked[id(model.view_optimizer)] = model.view_optimizer
    assert len(tracked) == 2
    for opt in tracked.values():
        assert int(opt.iterations.numpy()) == STEPS
    # Under a strategy `fit` builds the model's optimizer before the first
    # step (without one, Keras 3.15 leaves it unbuilt).
    naive, _ = _fit(strategy, default=True)
    assert isinstance(naive.optimizer, keras.optimizers.RMSprop)
    assert naive.optimizer.built and len(naive.optimizer.variables) > 2
    assert int(naive.optimizer.iterations.numpy()) == 0  # never stepped
