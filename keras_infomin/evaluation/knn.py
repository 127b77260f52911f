"""Weighted k-nearest-neighbour classification on cosine similarity."""

import numpy as np
import tensorflow as tf

from keras_infomin.utils import check_positive


def _normalize(x):
    x = tf.convert_to_tensor(x, tf.float32)
    return x / tf.maximum(tf.norm(x, axis=1, keepdims=True), 1e-12)


def knn_predict(
    train_features,
    train_labels,
    test_features,
    k=200,
    temperature=0.07,
    num_classes=None,
    batch_size=1024,
):
    """Class predictions of the weighted kNN classifier of InstDisc / MoCo.

    Features are L2-normalised; `s_ij` is the cosine similarity of test
    example `i` and training example `j`. Over the `k` most similar training
    examples `N_k(i)`, each class `c` collects the weight

        score_i(c) = sum_{j in N_k(i), y_j = c} exp(s_ij / temperature)

    and the prediction is `argmax_c score_i(c)`. (Computed as
    `exp((s_ij - max_j s_ij) / temperature)`: the same scores up to a
    factor common to the row, which neither overflows nor underflows to
    all zeros.)

    Args:
        train_features: `[N, F]` memory bank.
        train_labels: `[N]` integer labels of the bank.
        test_features: `[M, F]` queries.
        k: number of neighbours (clipped to `N`).
        temperature: softness of the weights (> 0).
        num_classes: number of classes (default: largest label + 1).
        batch_size: queries per similarity block.

    Returns:
        `[M]` int64 numpy array of predicted classes.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
        raise ValueError(f"`k` must be a positive int; received k={k!r}.")
    check_positive("temperature", temperature)
    train_labels = np.asarray(train_labels).astype("int64").reshape(-1)
    if len(train_labels) != len(train_features):
        raise ValueError(
            "`train_labels` and `train_features` differ in length: "
            f"{len(train_labels)} vs {len(train_features)}."
        )
    if num_classes is None:
        num_classes = int(train_labels.max()) + 1
    k = min(k, len(train_labels))
    bank = _normalize(train_features)
    labels = tf.constant(train_labels)
    queries = np.asarray(test_features)
    out = []
    for start in range(0, len(queries), batch_size):
        q = _normalize(queries[start : start + batch_size])
        sims = tf.matmul(q, bank, transpose_b=True)
        top, idx = tf.math.top_k(sims, k=k)
        weights = tf.exp((top - top[:, :1]) / temperature)
        onehot = tf.one_hot(tf.gather(labels, idx), num_classes)
        scores = tf.reduce_sum(onehot * weights[..., None], axis=1)
        out.append(tf.argmax(scores, axis=1).numpy())
    return np.concatenate(out).astype("int64")


def knn_accuracy(
    train_features,
    train_labels,
    test_features,
    test_labels,
    k=200,
    temperature=0.07,
    num_classes=None,
    batch_size=1024,
):
    """Accuracy of `knn_predict` on `(test_features, test_labels)`.

    Args:
        train_features, train_labels, test_features: as in `knn_predict`.
        test_labels: `[M]` integer labels.
        k, temperature, num_classes, batch_size: as in `knn_predict`.

    Returns:
        A float in [0, 1].

    Example:

    >>> knn_accuracy(f_train, y_train, f_test, y_test, k=200)
    """
    test_labels = np.asarray(test_labels).astype("int64").reshape(-1)
    if num_classes is None:
        num_classes = int(max(np.max(train_labels), np.max(test_labels)) + 1)
    predictions = knn_predict(
        train_features,
        train_labels,
        test_features,
        k=k,
        temperature=temperature,
        num_classes=num_classes,
        batch_size=batch_size,
    )
    return float(np.mean(predictions == test_labels))
