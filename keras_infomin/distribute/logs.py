"""Logs that Keras can reduce under every strategy (multi-worker included).

`model.fit` reduces what `train_step` returns over replicas. With Keras 3.15
under `MultiWorkerMirroredStrategy` with more than one worker, its default
`"mean"` reduction calls `strategy.reduce("MEAN", value, axis=0)`, which
fails for scalars ("Invalid reduction dimension 0 for input with 0
dimensions"). `reducible_logs` gives scalar logs a batch axis of length 1 in
that case only; the reduction then averages over replicas and returns a
scalar again, so the history holds floats as usual.

A second limitation of `fit` under several workers in that Keras version:
before the first step, `fit` averages the first distributed batch across
workers with `strategy.reduce`, which accepts a single tensor but not a
tuple or dict. Feed such models one tensor per batch (for example the views
stacked on axis 1, split again in `train_step`). Both points only concern
multi-worker runs; `MirroredStrategy`, `TPUStrategy` and the default
strategy are unaffected.
"""

import tensorflow as tf


def _multi_worker(strategy):
    if not isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return False
    local = len(strategy.extended.worker_devices)
    return local < strategy.num_replicas_in_sync


def reducible_logs(logs):
    """Makes `train_step` / `test_step` logs reducible by Keras everywhere.

    Args:
        logs: a (nested) dict of scalar or higher-rank tensors, as returned
            by a custom `train_step`.

    Returns:
        `logs` unchanged, except under a multi-worker strategy, where every
        scalar becomes a tensor of shape `[1]` (see the module docstring).

    Example:

    ```python
    def train_step(self, data):
        ...
        return reducible_logs({"loss": loss, "mi": mi_estimate})
    ```
    """
    if not _multi_worker(tf.distribute.get_strategy()):
        return logs

    def fix(value):
        value = tf.convert_to_tensor(value)
        return tf.reshape(value, [1]) if value.shape.rank == 0 else value

    return tf.nest.map_structure(fix, logs)
