"""Shared test data: sklearn's 8x8 digits, split at random."""

import functools

import numpy as np


@functools.lru_cache(maxsize=1)
def digits_split(n_train=1200):
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype("float32")
    y = digits.target.astype("int64")
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:n_train], order[n_train:]
    return (x[train], y[train]), (x[test], y[test])
