"""Shared checks for the package's tests (and for users' own extensions).

`run_layer_test` is the one test every layer of the package passes: config and
registry round trips, a `.keras` save/load inside a functional model with equal
outputs, and one training step that moves every trainable weight.
"""

from keras_infomin.testing.test_case import assert_config_round_trip
from keras_infomin.testing.test_case import run_layer_test
from keras_infomin.testing.test_case import run_loss_test

__all__ = ["assert_config_round_trip", "run_layer_test", "run_loss_test"]
