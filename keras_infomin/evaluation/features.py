"""Running a frozen encoder over a data set."""

import weakref

import keras
import numpy as np
import tensorflow as tf


def _is_dataset(data):
    return isinstance(data, tf.data.Dataset)


def _split_element(element):
    if isinstance(element, (tuple, list)):
        if len(element) == 1:
            return element[0], None
        if len(element) in (2, 3):  # (x, y) or (x, y, sample_weight)
            return element[0], element[1]
        raise ValueError(
            "dataset elements must be `x` or `(x, y)`; received a tuple of "
            f"{len(element)} entries."
        )
    return element, None


def _as_batches(data, batch_size):
    """Yields `(x, y_or_None)` numpy/tensor batches from any accepted input."""
    if _is_dataset(data):
        for element in data:
            yield _split_element(element)
        return
    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(
                "`data` must be an array `x`, a tuple `(x, y)` or a batched "
                f"tf.data.Dataset; received a tuple of {len(data)} entries."
            )
        x, y = data
        x = np.asarray(x)
        y = np.asarray(y)
        if len(x) != len(y):
            raise ValueError(
                f"`x` and `y` differ in length: {len(x)} vs {len(y)}."
            )
    else:
        x, y = np.asarray(data), None
    for start in range(0, len(x), batch_size):
        stop = start + batch_size
        yield x[start:stop], (None if y is None else y[start:stop])


def labels_to_indices(y):
    """Integer class indices from `[N]`, `[N, 1]` or one-hot `[N, C]` labels."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1).astype("int64")
    y = y.reshape(len(y))
    if not np.all(np.equal(np.mod(y, 1), 0)) or (y.size and y.min() < 0):
        raise ValueError(
            "labels must be non-negative integer class indices or one-hot "
            "rows; received values such as "
            f"{np.unique(y)[:5].tolist()}."
        )
    return y.astype("int64")


# One traced function per encoder, reused across calls (callbacks extract
# features every few epochs).
_CALLS = weakref.WeakKeyDictionary()


def _make_call(encoder):
    if encoder is None:
        return None
    try:
        return _CALLS[encoder]
    except (KeyError, TypeError):
        pass
    if not callable(encoder):
        raise TypeError(
            "`encoder` must be a Keras layer/model, a callable or None; "
            f"received {type(encoder).__name__}."
        )
    is_layer = isinstance(encoder, keras.layers.Layer)
    try:
        # A weak reference: the cache must not keep the encoder alive.
        ref = weakref.ref(encoder)
    except TypeError:
        ref = lambda: encoder  # noqa: E731

    def call(x):
        if is_layer:
            return ref()(x, training=False)
        return ref()(x)

    traced = tf.function(call, reduce_retracing=True)
    try:
        _CALLS[encoder] = traced
    except TypeError:  # not weak-referenceable
        pass
    return traced


def extract_features(encoder, data, batch_size=256):
    """Runs `encoder` in inference mode over `data`.

    Args:
        encoder: a Keras layer or model (called with `training=False`), any
            callable on a batch, or `None` for the raw inputs (flattened):
            the baseline without representation learning.
        data: an array `x`, a tuple `(x, y)` of arrays, or a batched
            `tf.data.Dataset` of `x` or `(x, y)` elements.
        batch_size: batch size for array inputs.

    Returns:
        `(features, labels)`: a float `[N, F]` numpy array (outputs of any
        rank are flattened per example) and an int64 `[N]` array of class
        indices, or `None` when `data` has no labels.

    Example:

    >>> features, labels = extract_features(encoder, (x_test, y_test))
    """
    if not isinstance(batch_size, int) or batch_size <= 0:
        raise ValueError(
            f"`batch_size` must be a positive int; received {batch_size!r}."
        )
    call = _make_call(encoder)
    features, labels = [], []
    for x, y in _as_batches(data, batch_size):
        out = x if call is None else call(x)
        out = np.asarray(keras.ops.convert_to_numpy(out))
        features.append(out.reshape(len(out), -1))
        if y is not None:
            labels.append(np.asarray(keras.ops.convert_to_numpy(y)))
    if not features:
        raise ValueError("`data` is empty: no batch to extract features from.")
    features = np.concatenate(features, axis=0)
    if not np.issubdtype(features.dtype, np.floating):
        features = features.astype("float32")
    labels = labels_to_indices(np.concatenate(labels)) if labels else None
    if labels is not None and len(labels) != len(features):
        raise ValueError(
            "some batches of `data` lack labels: got "
            f"{len(labels)} labels for {len(features)} examples."
        )
    return features, labels
