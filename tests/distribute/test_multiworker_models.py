"""ContrastiveModel under MultiWorkerMirroredStrategy: 2 local workers.

The reference is the same function run in this process on one replica.
The workers feed single-tensor batches (views stacked, `UnstackViews` in
the model) and log through `reducible_logs`, the two conditions of Keras
3.15's `fit` under several workers. Starting workers is the slow part
(each imports TensorFlow), so one test covers both the match with a single
process (every epoch's loss, the final weights) and preemption.
"""

import csv
import json
import os

import numpy as np
import pytest

from keras_infomin import testing
from tests.distribute import multiworker_models

EPOCHS = 3


def _csv_losses(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return [int(r["epoch"]) for r in rows], [float(r["loss"]) for r in rows]


@pytest.mark.slow
def test_two_workers_match_one_process_through_a_kill_and_restart(tmp_path):
    """Worker 1 dies after epoch 0; both restart and resume at epoch 1.

    Each worker's epoch-0 loss (before the kill) and the resumed epochs'
    losses equal the single-process run's, and the resumed run ends with
    the uninterrupted run's weights (restored weights, optimizer slots and
    epoch counter through `keras.callbacks.BackupAndRestore`).
    """
    reference = multiworker_models.train_contrastive(epochs=EPOCHS)
    assert reference["replicas"] == 1
    assert reference["losses"][-1] < reference["losses"][0]  # it trains
    kwargs = {
        "epochs": EPOCHS,
        "backup_dir": str(tmp_path / "backup"),
        "log_dir": str(tmp_path),
    }
    try:
        testing.run_workers(
            multiworker_models.train_contrastive,
            num_workers=2,
            kwargs={**kwargs, "die": 0},
            timeout=300,
        )
    except testing.WorkerError as error:
        assert "--- worker 1: exit code 17 ---" in str(error), str(error)
    else:
        raise AssertionError("worker 1 should have died after epoch 0")
    for task in (0, 1):
        backup = tmp_path / "backup" / f"worker_{task}"
        with open(backup / "training_metadata.json") as f:
            assert json.load(f)["epoch"] == 1
        epochs, losses = _csv_losses(tmp_path / f"worker_{task}.csv")
        assert epochs == [0]
        np.testing.assert_allclose(losses, reference["losses"][:1], rtol=1e-5)

    results = testing.run_workers(
        multiworker_models.train_contrastive,
        num_workers=2,
        kwargs=kwargs,
        timeout=300,
    )
    for task, result in enumerate(results):
        assert result["task"] == task and result["replicas"] == 2
        assert result["epochs"] == list(range(1, EPOCHS))
        np.testing.assert_allclose(
            result["losses"], reference["losses"][1:], rtol=1e-5, atol=1e-5
        )
        assert len(result["weights"]) == len(reference["weights"])
        for w, r in zip(result["weights"], reference["weights"]):
            np.testing.assert_allclose(w, r, atol=1e-5)
        epochs, _ = _csv_losses(tmp_path / f"worker_{task}.csv")
        assert epochs == list(range(EPOCHS))
    # A completed run removes its backups.
    for task in (0, 1):
        assert not os.path.exists(tmp_path / "backup" / f"worker_{task}")
