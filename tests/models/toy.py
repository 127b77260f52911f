"""Toy views that share a known signal, for the trainers' tests."""

import keras
import numpy as np


def shared_signal_views(n=512, shared=4, noise=12, seed=0):
    """Two views `[s, e1]` and `[s + small noise, e2]`.

    The views share only `s` (4-d Gaussian); the noise blocks are
    independent, so a good representation of view 1 predicts `s`.
    """
    rng = np.random.default_rng(seed)
    s = rng.normal(size=(n, shared))
    v1 = np.concatenate([s, rng.normal(size=(n, noise))], axis=1)
    v2 = np.concatenate(
        [s + 0.1 * rng.normal(size=(n, shared)), rng.normal(size=(n, noise))],
        axis=1,
    )
    return v1.astype("float32"), v2.astype("float32"), s.astype("float32")


def r_squared(features, target):
    """Fraction of `target`'s variance explained by a linear map."""
    a = np.concatenate([features, np.ones((len(features), 1))], axis=1)
    coef, *_ = np.linalg.lstsq(a, target, rcond=None)
    residual = target - a @ coef
    return 1.0 - residual.var(axis=0).sum() / target.var(axis=0).sum()


class Interrupt(keras.callbacks.Callback):
    """Raises `RuntimeError("interrupted")` at the end of epoch 1."""

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 1:
            raise RuntimeError("interrupted")


class EpochRecorder(keras.callbacks.Callback):
    """Records the indices of the epochs that ran (in `seen`)."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def on_epoch_begin(self, epoch, logs=None):
        self.seen.append(epoch)
