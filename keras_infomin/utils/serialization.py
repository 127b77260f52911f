"""One place where the package's Keras objects are registered."""

import keras

PACKAGE = "keras_infomin"


def register(cls):
    """Registers `cls` with Keras serialization under `keras_infomin>Name`.

    Every layer, loss, metric, model and optimizer of the package goes
    through this decorator, so `.keras` files written by one process load in
    another that has imported `keras_infomin`.
    """
    return keras.saving.register_keras_serializable(package=PACKAGE)(cls)
