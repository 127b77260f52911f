"""Trainers run inside worker processes by `test_multiworker_models.py`.

`train_contrastive` builds a `MultiWorkerMirroredStrategy` from `TF_CONFIG`
when it is set (a worker started by `run_workers`) and uses the default
strategy otherwise, so the same function gives the single-process
reference. Batches are one tensor, the two views stacked on axis 1 and
split by `UnstackViews` inside the step: Keras 3.15's `fit` under several
workers accepts nothing else.
"""

import json
import os


def _task_index():
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    return config.get("task", {}).get("index", 0)


def _die_after(epoch):
    """A callback: worker 1 exits abruptly at the end of `epoch`."""
    import keras

    class Die(keras.callbacks.Callback):
        def on_epoch_end(self, e, logs=None):
            if e == epoch and _task_index() == 1:
                os._exit(17)  # no cleanup, like a preempted machine

    return Die()


def _initial_weights(model, seed=1):
    """Deterministic weights, the same in every process."""
    import numpy as np

    rng = np.random.default_rng(seed)
    weights = []
    for w in model.get_weights():
        if w.ndim == 2:
            std = 1.0 / np.sqrt(w.shape[0])
            weights.append(rng.normal(0.0, std, w.shape).astype(w.dtype))
        else:
            weights.append(np.zeros_like(w))
    return weights


def train_contrastive(
    epochs=3,
    global_batch=16,
    steps_per_epoch=2,
    backup_dir=None,
    log_dir=None,
    die=None,
):
    """Fits a SimCLR-style `ContrastiveModel` on stacked views.

    Args:
        epochs: full passes over `steps_per_epoch` batches (the same
            batches every epoch, so a run resumed at an epoch boundary sees
            the data an uninterrupted run sees).
        global_batch: rows per step over all workers.
        steps_per_epoch: batches in the data set.
        backup_dir: with it, `keras.callbacks.BackupAndRestore` writes to
            `backup_dir/worker_<index>` (one directory per worker: Keras'
            callback is not multi-worker aware and would have every worker
            write the same files).
        log_dir: with it, `keras.callbacks.CSVLogger` appends each epoch's
            logs to `log_dir/worker_<index>.csv` (kept across restarts).
        die: worker 1 exits (code 17) at the end of this epoch, after the
            backup and the log are written.

    Returns:
        `{"task", "replicas", "epochs", "losses", "weights"}`.
    """
    import keras
    import numpy as np
    import tensorflow as tf

    from keras_infomin import encoders
    from keras_infomin import models
    from keras_infomin.views.unstack import UnstackViews
    from tests.models.toy import shared_signal_views

    if "TF_CONFIG" in os.environ:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        strategy = tf.distribute.get_strategy()
    v1, v2, _ = shared_signal_views(n=steps_per_epoch * global_batch)
    stacked = np.stack([v1, v2], axis=1)
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = models.ContrastiveModel(
            encoder=encoders.MLP((32,), output_dim=8),
            projector=models.ProjectionHead((32,), 8),
            view_layer=UnstackViews(num_views=2),
        )
        model(stacked[:2])
        model.set_weights(_initial_weights(model))
        model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9))
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices(stacked)
        .batch(global_batch, drop_remainder=True)
        .with_options(options)
    )
    callbacks = []
    if backup_dir is not None:
        path = os.path.join(backup_dir, f"worker_{_task_index()}")
        callbacks.append(keras.callbacks.BackupAndRestore(path))
    if log_dir is not None:
        path = os.path.join(log_dir, f"worker_{_task_index()}.csv")
        callbacks.append(keras.callbacks.CSVLogger(path, append=True))
    if die is not None:
        callbacks.append(_die_after(die))
    history = model.fit(
        dataset, epochs=epochs, shuffle=False, verbose=0, callbacks=callbacks
    )
    return {
        "task": _task_index(),
        "replicas": strategy.num_replicas_in_sync,
        "epochs": history.epoch,
        "losses": history.history.get("loss", []),
        "weights": [w.tolist() for w in model.get_weights()],
    }
