"""reducible_logs: unchanged except under several workers.

The multi-worker case (scalars get shape [1] and fit's reduction works) is
exercised end to end by test_multiworker.py, whose toy model returns its
logs through `reducible_logs`.
"""

import tensorflow as tf

from keras_infomin import distribute


def test_unchanged_under_default_and_mirrored_strategies():
    logs = {"loss": tf.constant(1.5), "nested": {"mi": tf.constant([2.0])}}
    assert distribute.reducible_logs(logs) is logs
    strategy = distribute.get_strategy(["/cpu:0", "/cpu:1"])
    out = strategy.run(
        tf.function(
            lambda: distribute.reducible_logs({"loss": tf.constant(1.5)})
        )
    )
    for value in strategy.experimental_local_results(out["loss"]):
        assert value.shape == ()
