"""replica_id, num_replicas, in_multi_replica_context, replica_seed."""

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import distribute

DEVICES = ["/cpu:0", "/cpu:1"]


def _local(strategy, value):
    return [t.numpy() for t in strategy.experimental_local_results(value)]


def test_default_context():
    assert distribute.num_replicas() == 1
    assert int(distribute.replica_id()) == 0
    assert distribute.replica_id().dtype == tf.int32
    assert not distribute.in_multi_replica_context()


def test_inside_two_replicas():
    strategy = distribute.get_strategy(DEVICES)

    @tf.function
    def step():
        inside = tf.constant(distribute.in_multi_replica_context())
        count = tf.constant(distribute.num_replicas())
        return distribute.replica_id(), count, inside

    rid, count, inside = strategy.run(step)
    assert _local(strategy, rid) == [0, 1]
    assert _local(strategy, count) == [2, 2]
    assert _local(strategy, inside) == [True, True]
    with strategy.scope():  # cross-replica context
        assert distribute.num_replicas() == 2
        assert int(distribute.replica_id()) == 0
        assert not distribute.in_multi_replica_context()


def test_replica_seed_differs_between_replicas():
    strategy = distribute.get_strategy(DEVICES)

    @tf.function
    def draw():
        seed = distribute.replica_seed(7)
        return seed, tf.random.stateless_uniform([5], seed=seed)

    seeds, draws = strategy.run(draw)
    seeds, draws = _local(strategy, seeds), _local(strategy, draws)
    assert seeds[0].shape == (2,)
    assert not np.array_equal(seeds[0], seeds[1])
    assert not np.allclose(draws[0], draws[1])
    # Deterministic, and replica 0 gets what the default context gets.
    np.testing.assert_array_equal(seeds[0], distribute.replica_seed(7))
    np.testing.assert_array_equal(
        distribute.replica_seed(7), distribute.replica_seed([7, 0])
    )
    assert not np.array_equal(
        distribute.replica_seed(7), distribute.replica_seed(8)
    )


@pytest.mark.parametrize(
    "seed, error",
    [(1.5, TypeError), ([1, 2, 3], ValueError), ([[1, 2]], ValueError)],
)
def test_replica_seed_bad_seed(seed, error):
    with pytest.raises(error, match="seed"):
        distribute.replica_seed(seed)
