"""Small Keras 3 encoders for the export tests."""

import keras
import numpy as np


def mlp_bn_dropout(dim=6, units=8, out=4, l2=0.01):
    """Dense (L2) -> BatchNorm -> ReLU -> Dropout -> Dense."""
    inputs = keras.Input((dim,), name="features")
    h = keras.layers.Dense(units, kernel_regularizer=keras.regularizers.L2(l2))(
        inputs
    )
    h = keras.layers.BatchNormalization(momentum=0.5)(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Dropout(0.3)(h)
    return keras.Model(inputs, keras.layers.Dense(out)(h), name="mlp")


def mlp_bn(dim=6, units=8, out=4):
    """Dense -> BatchNorm -> tanh -> Dense (deterministic in both modes)."""
    inputs = keras.Input((dim,))
    h = keras.layers.Dense(units)(inputs)
    h = keras.layers.BatchNormalization(momentum=0.5)(h)
    h = keras.layers.Activation("tanh")(h)
    return keras.Model(inputs, keras.layers.Dense(out)(h), name="mlp_bn")


def convnet_bn(size=8, channels=3, out=5):
    """Conv -> BN -> ReLU -> Conv -> global pool -> Dense."""
    inputs = keras.Input((size, size, channels))
    h = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Conv2D(6, 3, strides=2)(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(out)(h), name="convnet")


def dense_dropout(dim=6, units=64, rate=0.5):
    """Dense -> Dropout as the last layer (dropout visible in outputs)."""
    inputs = keras.Input((dim,))
    h = keras.layers.Dense(units, activation="softplus")(inputs)
    return keras.Model(inputs, keras.layers.Dropout(rate)(h), name="drop")


def data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")
