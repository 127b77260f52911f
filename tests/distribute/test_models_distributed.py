"""The trainers under MirroredStrategy (two logical CPUs) match one replica.

Each test trains a model for a few steps through `model.fit` on one
replica (TensorFlow's default strategy) and on two replicas
(`distribute.get_strategy(["/cpu:0", "/cpu:1"])`) from the same initial
weights on the same global batches, with a stateful optimizer (SGD with
momentum, built by `compile`/`fit` inside the scope), and requires the same
per-step logs, the same weights (trainable and not: MoCo's queue and key
encoder, MINE's moving average, batch-norm statistics) and the same
optimizer slots. The one-replica run is the reference; numpy gives
independent references where the distributed code could be wrong in the
same way on both runs (MoCo's enqueued keys, the target-mode halves).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import critics
from keras_infomin import data as kdata
from keras_infomin import distribute
from keras_infomin import encoders
from keras_infomin import models
from keras_infomin import views
from keras_infomin.models import base
from tests.models.toy import shared_signal_views

DEVICES = ["/cpu:0", "/cpu:1"]
ATOL = 1e-5


def _two_replicas():
    return distribute.get_strategy(DEVICES)


def _one_replica():
    return tf.distribute.get_strategy()


def _dataset(arrays, global_batch):
    return tf.data.Dataset.from_tensor_slices(arrays).batch(global_batch)


def _train(make, strategy, arrays, global_batch, steps, init=None, lr=0.05):
    """Builds `make()` in `strategy`'s scope and fits `steps` batches.

    Returns `(model, history, initial_weights)`; `init` (weights of another
    model) replaces the initial weights when given.
    """
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = make()
        model(tuple(a[:2] for a in arrays))
        if init is not None:
            model.set_weights(init)
        model.compile(optimizer=keras.optimizers.SGD(lr, momentum=0.9))
    initial = model.get_weights()
    history = model.fit(
        _dataset(arrays, global_batch),
        epochs=steps,
        steps_per_epoch=1,
        shuffle=False,
        verbose=0,
    )
    return model, history.history, initial


def _local_copies(variable):
    strategy = tf.distribute.get_strategy()
    return strategy.experimental_local_results(variable.value)


def _assert_same_training(model, history, ref, ref_history, initial):
    for key, values in ref_history.items():
        np.testing.assert_allclose(
            history[key], values, rtol=1e-5, atol=ATOL, err_msg=key
        )
    moved = False
    for var, ref_var, w0 in zip(model.variables, ref.variables, initial):
        got, want = np.asarray(var.numpy()), np.asarray(ref_var.numpy())
        if want.dtype == bool:
            np.testing.assert_array_equal(got, want, err_msg=var.path)
            continue
        np.testing.assert_allclose(got, want, atol=ATOL, err_msg=var.path)
        moved = moved or not np.allclose(want, w0, atol=1e-4)
    assert moved, "the reference did not train: the comparison is empty"
    # The optimizer state (momentum slots, iteration count) as well.
    opt, ref_opt = model.optimizer.variables, ref.optimizer.variables
    assert len(opt) == len(ref_opt)
    for var, ref_var in zip(opt, ref_opt):
        assert isinstance(var.value, tf.distribute.DistributedValues)
        np.testing.assert_allclose(
            var.numpy(), ref_var.numpy(), atol=ATOL, err_msg=var.path
        )


def _assert_replicas_in_sync(model, strategy):
    """Every mirrored copy holds the same value (no silent divergence)."""
    with strategy.scope():
        for var in model.variables:
            copies = _local_copies(var)
            assert len(copies) == 2, var.path
            np.testing.assert_array_equal(
                copies[0].numpy(), copies[1].numpy(), err_msg=var.path
            )


# ------------------------------------------------------ ContrastiveModel


def _simclr(sync_bn=None, **kwargs):
    def make():
        head = models.ProjectionHead(
            (32,),
            8,
            batch_norm=sync_bn is not None,
            synchronized_bn=bool(sync_bn),
        )
        return models.ContrastiveModel(
            encoder=encoders.MLP((32,), output_dim=8),
            projector=head,
            **kwargs,
        )

    return make


def _compare(make, arrays, global_batch=16, steps=3, lr=0.05):
    ref, ref_history, initial = _train(
        make, _one_replica(), arrays, global_batch, steps, lr=lr
    )
    strategy = _two_replicas()
    model, history, _ = _train(
        make, strategy, arrays, global_batch, steps, init=initial, lr=lr
    )
    assert model.distribute_strategy.num_replicas_in_sync == 2
    return model, history, ref, ref_history, initial, strategy


def test_contrastive_fused_infonce_sync_batch_norm_and_short_last_batch():
    """SimCLR (cosine InfoNCE, both directions, batch-norm head).

    Global batches of 16 then 13 rows; the second splits 7 + 6 between the
    replicas, so the global value is the row-weighted mean of the
    replicas' values. (Only a later batch may split unevenly: Keras 3.15's
    `fit` sums the first batch's per-replica parts before training.) With
    synchronised batch norm the two replicas match one replica; without it
    each replica normalises with its own part of the batch and the steps
    differ.
    """
    v1, v2, _ = shared_signal_views(n=29)
    model, history, ref, ref_history, initial, strategy = _compare(
        _simclr(sync_bn=True), (v1, v2), steps=2
    )
    _assert_same_training(model, history, ref, ref_history, initial)
    _assert_replicas_in_sync(model, strategy)
    # Negatives come from the whole batch: the cap is log(global batch).
    np.testing.assert_allclose(history["mi_cap"], np.log([16, 13]), rtol=1e-6)
    unsynced, unsynced_history, _ = _train(
        _simclr(sync_bn=False), _two_replicas(), (v1, v2), 16, 2, initial
    )
    assert not np.allclose(
        unsynced_history["loss"], ref_history["loss"], atol=1e-3
    )
    gaps = [
        np.max(np.abs(a - b))
        for a, b in zip(unsynced.get_weights(), ref.get_weights())
    ]
    assert max(gaps) > 1e-3, gaps


def test_contrastive_general_critic_and_dv_bound():
    """Bilinear critic and the DV bound, which is not a mean over anchors.

    Its `log E_q e^f` term needs all off-diagonal scores of the global
    batch at once; averaging per-replica values would not give it.
    """
    v1, v2, _ = shared_signal_views(n=48)

    def make():
        return models.ContrastiveModel(
            encoder=encoders.MLP((32,), output_dim=8),
            critic=critics.Bilinear(),
            bound="dv",
        )

    model, history, ref, ref_history, initial, _ = _compare(make, (v1, v2))
    _assert_same_training(model, history, ref, ref_history, initial)


def _infonce_terms(za, zb, temperature):
    """Numpy per-anchor InfoNCE terms of both directions (cosine critic)."""
    a = za / np.linalg.norm(za, axis=1, keepdims=True)
    b = zb / np.linalg.norm(zb, axis=1, keepdims=True)
    s = a @ b.T / temperature
    n = len(s)

    def lse(m, axis):
        top = m.max(axis=axis, keepdims=True)
        return np.squeeze(top, axis) + np.log(np.exp(m - top).sum(axis))

    rows = np.diag(s) - lse(s, 1) + np.log(n)
    cols = np.diag(s) - lse(s, 0) + np.log(n)
    return rows, cols


def test_contrastive_target_mode_straddling_the_replicas():
    """`|I - target|` where one replica's anchors sit above the target.

    The target lies between the global value and the higher replica's
    value (numpy, from the initial embeddings of the first batch): one
    replica alone would push its bound down, the global loss pushes it up.
    """
    v1, v2, _ = shared_signal_views(n=48, shared=12, noise=4)

    def make(target=None):
        return models.ContrastiveModel(
            encoder=encoders.MLP((32,), output_dim=8), target=target
        )

    keras.utils.set_random_seed(0)
    probe = make()
    probe((v1[:2], v2[:2]))
    rows, cols = _infonce_terms(
        probe.embed(v1[:16]).numpy(), probe.embed(v2[:16], 1).numpy(), 0.1
    )
    halves = [
        0.5 * (rows[s].mean() + cols[s].mean())
        for s in (slice(0, 8), slice(8, 16))
    ]
    spread = abs(halves[0] - halves[1])
    assert spread > 0.05 and min(halves) > 0, halves
    target = float(np.mean(halves) + 0.25 * spread)
    model, history, ref, ref_history, initial, _ = _compare(
        lambda: make(target), (v1, v2), lr=0.02
    )
    # The reference's first logged value is the numpy global value.
    assert ref_history["mi"][0] == pytest.approx(np.mean(halves), abs=1e-4)
    _assert_same_training(model, history, ref, ref_history, initial)


# ------------------------------------------------------ MomentumContrast


def test_moco_queue_keys_and_momentum_match_one_replica():
    """Symmetric MoCo, batches of 16, 16 and 13 into a queue of 40 keys.

    Each step enqueues both views' keys (32, 32, then 26: the queue wraps
    around), the last batch split 7 + 6 between the replicas. Besides the
    reference run, the queue is checked against numpy: the slots written
    by the last step hold the normalised keys of its whole global batch in
    global order (replica 0's rows first), view 2's keys then view 1's;
    the key encoder has not changed since that step's momentum update.
    """
    v1, v2, _ = shared_signal_views(n=45)

    def make():
        return models.MomentumContrast(
            encoder=encoders.MLP((32,), output_dim=8),
            projector=models.ProjectionHead((32,), 8),
            queue_size=40,
            momentum=0.5,
            temperature=0.2,
            symmetric=True,
        )

    model, history, ref, ref_history, initial, strategy = _compare(
        make, (v1, v2)
    )
    _assert_same_training(model, history, ref, ref_history, initial)
    _assert_replicas_in_sync(model, strategy)
    assert int(model.queue_pointer.numpy()) == (32 + 32 + 26) % 40

    def keys(view):
        k = model.key_embed(view, training=True).numpy()
        return k / np.linalg.norm(k, axis=1, keepdims=True)

    written = np.concatenate([keys(v2[32:]), keys(v1[32:])])
    slots = (64 + np.arange(26)) % 40
    np.testing.assert_allclose(model.queue.numpy()[slots], written, atol=ATOL)


# ---------------------------------------------------------- MIEstimator


def test_mi_estimator_matches_one_replica():
    """MINE: the log-partition term over all pairs and its moving average.

    Neither is a mean over rows: both need the global score matrix, which
    every replica assembles from the gathered rows (any bound then works).
    """
    x, y, _ = kdata.correlated_gaussians(48, dim=4, mi=1.0, seed=3)
    x, y = x.astype("float32"), y.astype("float32")

    def make():
        return models.MIEstimator(critics.Separable((16,), 8), bound="mine")

    model, history, ref, ref_history, initial, strategy = _compare(
        make, (x, y), lr=0.02
    )
    _assert_same_training(model, history, ref, ref_history, initial)
    _assert_replicas_in_sync(model, strategy)
    assert bool(model.mine_started.numpy())


def test_mi_estimator_under_a_strategy_needs_building_first():
    x, y, _ = kdata.correlated_gaussians(32, dim=4, mi=1.0, seed=0)
    with _two_replicas().scope():
        model = models.MIEstimator(critics.Bilinear())
        model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"model\(\(x\[:1\], y\[:1\]\)\)"):
        model.fit(_dataset((x, y), 16), verbose=0)


# ------------------------------------------------ views inside the step


class _ViewProbe(models.ContrastiveModel):
    """Logs how far replica 0's views are from replica 1's, view by view.

    The batches hold the same images in both halves, so replica 0 and
    replica 1 receive identical inputs: equal random draws on the two
    replicas give equal views (a gap of 0).
    """

    def train_step(self, data):
        views_, _ = base.split_batch(data, self.view_layer, 2, training=True)
        logs = dict(super().train_step(data))
        for k, view in enumerate(views_):
            gathered = distribute.all_gather(view)
            n = tf.shape(view)[0]
            logs[f"replica_gap_{k}"] = tf.reduce_max(
                tf.abs(gathered[:n] - gathered[n:])
            )
        return logs


def test_views_made_in_the_step_differ_between_replicas():
    """Package view layers fold the replica id into their seeds.

    View 0 comes from the package's `RandomResizedCrop`; view 1 from
    Keras' `RandomFlip`, the control: Keras' random layers draw the same
    numbers on every replica, so its gap is 0, which shows the probe
    detects identical draws (`utils.random.decorrelate_replicas` is the
    fix for Keras layers, tested in tests/views).
    """
    rng = np.random.default_rng(0)
    images = rng.random((8, 8, 8, 3)).astype("float32")
    images = np.concatenate([images, images])  # replica 1 = replica 0
    with _two_replicas().scope():
        model = _ViewProbe(
            encoder=keras.Sequential(
                [keras.layers.Flatten(), keras.layers.Dense(4)]
            ),
            view_layer=views.Views(
                [
                    views.RandomResizedCrop(8, 8, seed=3),
                    keras.layers.RandomFlip("horizontal", seed=5),
                ]
            ),
        )
        model(images[:2])
        model.compile(optimizer=keras.optimizers.SGD(0.01))
    history = model.fit(
        images, batch_size=16, epochs=2, shuffle=False, verbose=0
    ).history
    assert min(history["replica_gap_0"]) > 0.05, history
    assert max(history["replica_gap_1"]) == 0.0, history


# ------------------------------------------------- TPU-compatible steps


def test_steps_compile_with_xla():
    """The train steps are tensor programs XLA compiles (as TPUs need).

    Checked on one replica (`jit_compile=True`) with MoCo, the step with
    the most state (momentum update, queue scatter, first-step flag): XLA
    cannot compile the mirrored collectives of logical CPU devices, but
    host-side Python or value-dependent shapes would fail here as on a TPU.
    The compiled step matches the uncompiled one.
    """
    v1, v2, _ = shared_signal_views(n=16)

    def make():
        return models.MomentumContrast(
            encoder=encoders.MLP((8,), output_dim=4),
            projector=models.ProjectionHead((8,), 4),
            queue_size=32,
            momentum=0.5,
            symmetric=True,
        )

    losses = []
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        model = make()
        model((v1[:2], v2[:2]))
        model.compile(optimizer=keras.optimizers.SGD(0.05), jit_compile=jit)
        losses.append(model.train_on_batch((v1, v2), return_dict=True))
    assert losses[1]["loss"] == pytest.approx(losses[0]["loss"], abs=1e-5)
