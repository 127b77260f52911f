"""get_strategy: explicit devices, automatic choice, bad device lists."""

import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import distribute


def test_explicit_devices_give_a_mirrored_strategy():
    strategy = distribute.get_strategy(["/cpu:0", "CPU:1"])
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == 2
    devices = [
        tf.DeviceSpec.from_string(d) for d in strategy.extended.worker_devices
    ]
    assert [(d.device_type, d.device_index) for d in devices] == [
        ("CPU", 0),
        ("CPU", 1),
    ]


def test_without_gpus_the_default_strategy_is_returned():
    if len(tf.config.list_logical_devices("GPU")) > 1:
        pytest.skip("several GPUs visible: a MirroredStrategy is expected")
    assert distribute.get_strategy() is tf.distribute.get_strategy()
    assert distribute.get_strategy().num_replicas_in_sync == 1


def test_successive_strategies_do_not_share_collectives():
    """Two strategies running different collectives in one process.

    With TensorFlow's default cross-device ops the second strategy reuses
    the first one's collective keys and fails with a shape mismatch.
    """
    first = distribute.get_strategy(["/cpu:0", "/cpu:1"])
    out = first.run(tf.function(lambda: distribute.all_gather(tf.ones([3, 4]))))
    assert first.experimental_local_results(out)[0].shape == (6, 4)
    second = distribute.get_strategy(["/cpu:0", "/cpu:1"])
    out = second.run(
        tf.function(lambda: distribute.all_gather(tf.ones([1, 2])))
    )
    np.testing.assert_array_equal(
        second.experimental_local_results(out)[1], np.ones((2, 2))
    )


@pytest.mark.parametrize(
    "devices, error, match",
    [
        ([], ValueError, "at least one"),
        ("/cpu:0", TypeError, "list of device names"),
        (["/cpu:0", "/cpu:7"], ValueError, "not a visible"),
        (["/gpu:5"], ValueError, "not a visible"),
        (["nonsense"], ValueError, "not a visible"),
        (["/cpu:0", "/cpu:0"], ValueError, "twice"),
    ],
)
def test_bad_devices(devices, error, match):
    with pytest.raises(error, match=match):
        distribute.get_strategy(devices)
