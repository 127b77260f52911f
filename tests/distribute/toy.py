"""A toy contrastive trainer for the distribution tests (plain TF maths).

Two linear encoders `f`, `g` map paired rows `(x_i, y_i)` to embeddings; the
loss is InfoNCE over the *global* batch written with raw TensorFlow ops:

    logits = f(x_local) @ all_gather(g(y_local))^T / temperature
    loss   = mean_i CE(logits_i, label_i),   label_i = offset_r + i

and the step divides it by the replica count before taking gradients.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_infomin import distribute


def make_pairs(n=16, dim=3, seed=0):
    """Correlated pairs (x, y) as float32 numpy arrays."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, dim)).astype("float32")
    y = (x + 0.5 * rng.normal(size=(n, dim))).astype("float32")
    return x, y


def initial_weights(dim=3, units=4, seed=1):
    """Fixed initial weights [f.kernel, g.kernel]."""
    rng = np.random.default_rng(seed)
    return [
        rng.normal(size=(dim, units)).astype("float32"),
        rng.normal(size=(dim, units)).astype("float32"),
    ]


class ToyContrastive(keras.Model):
    """Custom `train_step` with cross-replica negatives.

    Args:
        units: embedding size.
        temperature: softmax temperature.
        critic_optimizer: optional second optimizer for `g`; `self.optimizer`
            then only updates `f`.
        gather: whether negatives come from all replicas (the default) or
            only from the local rows.
        packed: batches are one tensor `[B, 2, dim]` (x and y stacked), the
            form `fit` accepts under several workers.
    """

    def __init__(
        self,
        units=4,
        temperature=0.5,
        critic_optimizer=None,
        gather=True,
        packed=False,
    ):
        super().__init__()
        self.gather = gather
        self.packed = packed
        # No biases: InfoNCE is invariant to a bias on either side, so
        # their gradients are rounding noise.
        self.f = keras.layers.Dense(units, use_bias=False, name="f")
        self.g = keras.layers.Dense(units, use_bias=False, name="g")
        self.temperature = temperature
        self.critic_optimizer = critic_optimizer

    def call(self, inputs, training=False):
        x, y = inputs
        return self.f(x), self.g(y)

    def contrastive_loss(self, x, y):
        zx, zy = self((x, y), training=True)
        if self.gather:
            zy_all = distribute.all_gather(zy)
            labels = distribute.local_batch_indices(zx)
        else:
            zy_all, labels = zy, tf.range(tf.shape(zx)[0])
        logits = tf.matmul(zx, zy_all, transpose_b=True) / self.temperature
        return tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)
        )

    def train_step(self, data):
        x, y = (data[:, 0], data[:, 1]) if self.packed else data
        with tf.GradientTape() as tape:
            loss = self.contrastive_loss(x, y)
            scaled = distribute.scale_loss(loss)
        if self.critic_optimizer is None:
            variables = self.trainable_variables
            grads = tape.gradient(scaled, variables)
            self.optimizer.apply_gradients(zip(grads, variables))
        else:
            fv, gv = self.f.trainable_variables, self.g.trainable_variables
            grads = tape.gradient(scaled, fv + gv)
            self.optimizer.apply_gradients(zip(grads[: len(fv)], fv))
            self.critic_optimizer.apply_gradients(zip(grads[len(fv) :], gv))
        return distribute.reducible_logs({"nce": loss})


def fit_toy(
    strategy,
    steps=3,
    global_batch=8,
    critic_optimizer=None,
    build=True,
    gather=True,
    packed=False,
):
    """Trains `ToyContrastive` under `strategy`; returns (weights, losses)."""
    x, y = make_pairs(n=steps * global_batch)
    with strategy.scope():
        model = ToyContrastive(
            critic_optimizer=critic_optimizer() if critic_optimizer else None,
            gather=gather,
            packed=packed,
        )
        model((x[:2], y[:2]))
        model.set_weights(initial_weights())
        model.compile(optimizer=keras.optimizers.SGD(0.1))
    if build:
        extra = []
        if model.critic_optimizer is not None:
            extra.append((model.critic_optimizer, model.g))
        distribute.build_optimizers(model, model.optimizer, *extra)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    ds = (
        tf.data.Dataset.from_tensor_slices(
            np.stack([x, y], 1) if packed else (x, y)
        )
        .batch(global_batch, drop_remainder=True)
        .with_options(options)
    )
    history = model.fit(
        ds, epochs=steps, steps_per_epoch=1, shuffle=False, verbose=0
    )
    return model.get_weights(), history.history["nce"]
