"""Functions run inside worker processes by the multi-worker tests.

Each builds its strategy from `TF_CONFIG` when it is set (a worker started by
`keras_infomin.testing.multiworker.run_workers`) and uses the default
strategy otherwise, so the same function gives the single-process reference.
"""

import json
import os


def _task_index():
    return (
        json.loads(os.environ.get("TF_CONFIG", "{}"))
        .get("task", {})
        .get("index", 0)
    )


def _strategy():
    import tensorflow as tf

    if "TF_CONFIG" in os.environ:
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def train(steps=3, global_batch=8):
    """Fits the toy contrastive model (cross-worker negatives).

    Returns the weights, the per-step losses, the replica count and the
    worker's task index.
    """
    strategy = _strategy()
    from tests.distribute import toy

    weights, losses = toy.fit_toy(
        strategy, steps=steps, global_batch=global_batch, packed=True
    )
    return {
        "task": _task_index(),
        "replicas": strategy.num_replicas_in_sync,
        "weights": weights,
        "losses": losses,
    }


def fail(message="boom"):
    """Raises on worker 1; the others hang as if waiting in a collective."""
    import time

    if _task_index() == 1:
        raise RuntimeError(message)
    time.sleep(120)


def echo(**kwargs):
    """Returns its arguments, the task index and the TF_CONFIG cluster."""
    config = json.loads(os.environ["TF_CONFIG"])
    return {"index": _task_index(), "kwargs": kwargs, "config": config}


def nothing():
    """Reports nothing."""


def sleep(seconds=60):
    import time

    time.sleep(seconds)
