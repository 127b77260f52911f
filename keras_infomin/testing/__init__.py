"""Shared checks for the package's tests (and for users' own extensions).

`run_layer_test` is the one test every layer of the package passes: config and
registry round trips, a `.keras` save/load inside a functional model with equal
outputs, and one training step that moves every trainable weight.

`run_workers` starts local `MultiWorkerMirroredStrategy` clusters (one
process per worker, `TF_CONFIG` set) and collects what each worker
`report`s; `WorkerError` says which worker failed and why.
"""

from keras_infomin.testing.multiworker import WorkerError
from keras_infomin.testing.multiworker import report
from keras_infomin.testing.multiworker import run_workers
from keras_infomin.testing.test_case import assert_config_round_trip
from keras_infomin.testing.test_case import run_layer_test
from keras_infomin.testing.test_case import run_loss_test

__all__ = [
    "WorkerError",
    "assert_config_round_trip",
    "report",
    "run_layer_test",
    "run_loss_test",
    "run_workers",
]
