"""Test set-up: quiet TensorFlow, Keras on TF, two logical CPU devices.

The CPU is split into two logical devices before TensorFlow starts so that
`tf.distribute.MirroredStrategy` tests can run two replicas on this machine.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpus = tf.config.list_physical_devices("CPU")
try:
    tf.config.set_logical_device_configuration(
        _cpus[0],
        [tf.config.LogicalDeviceConfiguration()] * 2,
    )
except RuntimeError:  # TensorFlow already initialised by another plugin.
    pass


@pytest.fixture(autouse=True)
def _seed_everything():
    keras.utils.set_random_seed(1234)
    np.random.seed(1234)
    yield
    # Without `gc.collect` (free_memory=False) the reset costs microseconds
    # instead of about 0.25 s per test; Python's collector still runs.
    keras.backend.clear_session(free_memory=False)
