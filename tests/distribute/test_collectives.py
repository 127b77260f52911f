"""all_gather, local_batch_offset/indices: values and gradients on 2 replicas.

References are computed without any strategy: the same loss written with
plain TensorFlow ops on the whole (global) batch, on one device.
"""

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import distribute
from tests.distribute import toy

DEVICES = ["/cpu:0", "/cpu:1"]


def _per_replica(strategy, arrays):
    """Distributes one numpy array per replica (sizes may differ)."""
    return strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(arrays[ctx.replica_id_in_sync_group])
    )


def _local(strategy, value):
    return [t.numpy() for t in strategy.experimental_local_results(value)]


def test_all_gather_concatenates_unequal_batches_in_replica_order():
    strategy = distribute.get_strategy(DEVICES)
    rng = np.random.default_rng(0)
    parts = [rng.normal(size=(3, 2)).astype("float32"), np.ones((1, 2), "f")]

    @tf.function
    def step(x):
        return (
            distribute.all_gather(x),
            distribute.local_batch_offset(x),
            distribute.local_batch_indices(x),
            distribute.all_gather({"a": x, "b": 2 * x}, axis=-2),
        )

    gathered, offset, indices, nested = strategy.run(
        step, args=(_per_replica(strategy, parts),)
    )
    expected = np.concatenate(parts)
    for g in _local(strategy, gathered):
        np.testing.assert_array_equal(g, expected)
    assert _local(strategy, offset) == [0, 3]
    indices = _local(strategy, indices)
    np.testing.assert_array_equal(indices[0], [0, 1, 2])
    np.testing.assert_array_equal(indices[1], [3])
    for a, b in zip(
        _local(strategy, nested["a"]), _local(strategy, nested["b"])
    ):
        np.testing.assert_array_equal(a, expected)
        np.testing.assert_array_equal(b, 2 * expected)


def test_all_gather_along_feature_axis():
    strategy = distribute.get_strategy(DEVICES)
    parts = [np.zeros((2, 1), "f"), np.ones((2, 3), "f")]
    out = strategy.run(
        tf.function(lambda x: distribute.all_gather(x, axis=1)),
        args=(_per_replica(strategy, parts),),
    )
    for g in _local(strategy, out):
        np.testing.assert_array_equal(g, np.concatenate(parts, axis=1))


def test_identity_outside_replica_context_and_with_one_replica():
    x = tf.constant(np.arange(6.0).reshape(3, 2))
    assert distribute.all_gather(x) is x
    assert int(distribute.local_batch_offset(x)) == 0
    np.testing.assert_array_equal(distribute.local_batch_indices(x), [0, 1, 2])
    two = distribute.get_strategy(DEVICES)
    with two.scope():  # cross-replica context: nothing to gather
        assert distribute.all_gather(x) is x
    one = distribute.get_strategy(["/cpu:0"])
    out = one.run(tf.function(lambda v: distribute.all_gather(v)), args=(x,))
    np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize(
    "value, axis, error, match",
    [
        (tf.constant(1.0), 0, ValueError, "scalars"),
        (tf.zeros((2, 3)), 2, ValueError, r"\[-2, 2\)"),
        (tf.zeros((2, 3)), 0.0, TypeError, "Python int"),
        (tf.zeros((2, 3)), True, TypeError, "Python int"),
    ],
)
def test_bad_arguments(value, axis, error, match):
    with pytest.raises(error, match=match):
        distribute.all_gather(value, axis=axis)
    with pytest.raises(error, match=match):
        distribute.local_batch_indices(value, axis=axis)


def _infonce(zx, zy_all, labels, temperature):
    logits = tf.matmul(zx, zy_all, transpose_b=True) / temperature
    return tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits)


def _reference(x, y, wx, wy, temperature=0.5):
    """Symmetric InfoNCE on the global batch, one device, no strategy."""
    wx, wy = tf.Variable(wx), tf.Variable(wy)
    with tf.GradientTape() as tape:
        zx, zy = x @ wx, y @ wy
        labels = tf.range(x.shape[0])
        loss = tf.reduce_mean(
            _infonce(zx, zy, labels, temperature)
            + _infonce(zy, zx, labels, temperature)
        )
    gx, gy = tape.gradient(loss, [wx, wy])
    return loss.numpy(), gx.numpy(), gy.numpy()


def test_two_replicas_match_one_replica_on_the_global_batch():
    """Mean loss, `scale_loss`, summed gradients == one-replica gradients."""
    x, y = toy.make_pairs(n=8)
    wx0, wy0 = toy.initial_weights()
    strategy = distribute.get_strategy(DEVICES)
    with strategy.scope():
        wx, wy = tf.Variable(wx0), tf.Variable(wy0)

    @tf.function
    def step(xl, yl):
        with tf.GradientTape() as tape:
            zx, zy = xl @ wx, yl @ wy
            zx_all, zy_all = distribute.all_gather([zx, zy])
            labels = distribute.local_batch_indices(zx)
            loss = tf.reduce_mean(
                _infonce(zx, zy_all, labels, 0.5)
                + _infonce(zy, zx_all, labels, 0.5)
            )
            scaled = distribute.scale_loss(loss)
        grads = tape.gradient(scaled, [wx, wy])
        ctx = tf.distribute.get_replica_context()
        return scaled, ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)

    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    batch = next(iter(strategy.experimental_distribute_dataset(dataset)))
    assert [
        b.shape[0] for b in strategy.experimental_local_results(batch[0])
    ] == [
        4,
        4,
    ]
    scaled, (gx, gy) = strategy.run(step, args=batch)
    loss = strategy.reduce(tf.distribute.ReduceOp.SUM, scaled, axis=None)
    ref_loss, ref_gx, ref_gy = _reference(x, y, wx0, wy0)
    np.testing.assert_allclose(loss.numpy(), ref_loss, rtol=1e-5, atol=1e-5)
    for r in range(2):
        np.testing.assert_allclose(
            _local(strategy, gx)[r], ref_gx, rtol=1e-5, atol=1e-5
        )
        np.testing.assert_allclose(
            _local(strategy, gy)[r], ref_gy, rtol=1e-5, atol=1e-5
        )


def test_gradients_with_unequal_replica_batches():
    """Sum-reduced loss over a 5 + 3 split: gradient slices stay aligned."""
    x, y = toy.make_pairs(n=8)
    wx0, wy0 = toy.initial_weights()
    strategy = distribute.get_strategy(DEVICES)
    with strategy.scope():
        wx, wy = tf.Variable(wx0), tf.Variable(wy0)

    @tf.function
    def step(xl, yl):
        with tf.GradientTape() as tape:
            zx, zy = xl @ wx, yl @ wy
            zx_all, zy_all = distribute.all_gather([zx, zy])
            labels = distribute.local_batch_indices(zx)
            total = tf.reduce_sum(
                _infonce(zx, zy_all, labels, 0.5)
                + _infonce(zy, zx_all, labels, 0.5)
            )
            loss = total / tf.cast(tf.shape(zx_all)[0], total.dtype)
        grads = tape.gradient(loss, [wx, wy])
        ctx = tf.distribute.get_replica_context()
        return ctx.all_reduce(tf.distribute.ReduceOp.SUM, grads)

    xs = [x[:5], x[5:]]
    ys = [y[:5], y[5:]]
    gx, gy = strategy.run(
        step, args=(_per_replica(strategy, xs), _per_replica(strategy, ys))
    )
    _, ref_gx, ref_gy = _reference(x, y, wx0, wy0)
    np.testing.assert_allclose(_local(strategy, gx)[1], ref_gx, atol=1e-5)
    np.testing.assert_allclose(_local(strategy, gy)[0], ref_gy, atol=1e-5)


def test_fit_with_cross_replica_negatives_matches_single_device():
    """A custom train_step using all_gather, run by model.fit."""
    ref_weights, ref_losses = toy.fit_toy(tf.distribute.get_strategy())
    weights, losses = toy.fit_toy(distribute.get_strategy(DEVICES))
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-5, atol=1e-5)
    for w, r in zip(weights, ref_weights):
        np.testing.assert_allclose(w, r, atol=1e-5)
    # Training did something: the loss fell and the weights moved.
    assert losses[-1] < losses[0]
    assert not np.allclose(weights[0], toy.initial_weights()[0])


def test_fit_without_gathering_differs():
    """Local negatives only (no all_gather) give a different objective.

    Guards the previous test against passing vacuously: the two-replica run
    only matches the global-batch reference because negatives are gathered.
    """
    ref_weights, _ = toy.fit_toy(tf.distribute.get_strategy())
    weights, _ = toy.fit_toy(distribute.get_strategy(DEVICES), gather=False)
    assert max(np.abs(w - r).max() for w, r in zip(weights, ref_weights)) > 1e-3
