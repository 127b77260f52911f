"""Linear evaluation of frozen features."""

import keras
import numpy as np

from keras_infomin.evaluation.features import extract_features
from keras_infomin.utils import check_positive

_METHODS = ("sklearn", "keras")
_SCALINGS = ("minmax", "standard", None)


def _require_labels(name, labels):
    if labels is None:
        raise ValueError(
            f"`{name}` has no labels: pass `(x, y)` arrays or a dataset of "
            "`(x, y)` elements."
        )


def scale_features(train, test, scaling="minmax"):
    """Scales features with statistics of the training features only.

    `"minmax"`: `(f - min) / (max - min)` per feature (sklearn's
    `MinMaxScaler`: a constant feature is shifted to 0, not divided by 0);
    `"standard"`: `(f - mean) / std` (constant features: std taken as 1);
    `None`: unchanged.

    Args:
        train: `[N, F]` training features.
        test: `[M, F]` features scaled with the training statistics.
        scaling: `"minmax"`, `"standard"` or `None`.

    Returns:
        `(train_scaled, test_scaled)`, float32.
    """
    if scaling not in _SCALINGS:
        raise ValueError(
            f"`scaling` must be one of {_SCALINGS}; received {scaling!r}."
        )
    train = np.asarray(train, "float64")
    test = np.asarray(test, "float64")
    if scaling == "minmax":
        low = train.min(axis=0)
        span = train.max(axis=0) - low
    elif scaling == "standard":
        low = train.mean(axis=0)
        span = train.std(axis=0)
    else:
        return train.astype("float32"), test.astype("float32")
    span = np.where(span > 0, span, 1.0)
    return (
        ((train - low) / span).astype("float32"),
        ((test - low) / span).astype("float32"),
    )


def _import_sklearn():
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import MinMaxScaler
        from sklearn.preprocessing import StandardScaler
    except ImportError as err:  # pragma: no cover - depends on environment
        raise ImportError(
            "linear_probe(method='sklearn') needs scikit-learn: install it "
            "with `pip install scikit-learn`, or use method='keras'."
        ) from err
    return LogisticRegression, MinMaxScaler, StandardScaler


def _sklearn_probe(train, test, scaling, C, tol, max_iter, seed):
    LogisticRegression, MinMaxScaler, StandardScaler = _import_sklearn()
    (x_train, y_train), (x_test, y_test) = train, test
    if scaling is not None:
        scaler = MinMaxScaler() if scaling == "minmax" else StandardScaler()
        x_train = scaler.fit_transform(x_train)
        x_test = scaler.transform(x_test)
    classifier = LogisticRegression(
        solver="saga", C=C, tol=tol, max_iter=max_iter, random_state=seed
    )
    classifier.fit(x_train, y_train)
    return float(np.mean(classifier.predict(x_test) == y_test))


def _keras_probe(
    train, test, scaling, epochs, learning_rate, batch_size, num_classes, seed
):
    (x_train, y_train), (x_test, y_test) = train, test
    x_train, x_test = scale_features(x_train, x_test, scaling)
    inputs = keras.Input((x_train.shape[1],))
    outputs = keras.layers.Dense(
        num_classes,
        activation="softmax",
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
    )(inputs)
    classifier = keras.Model(inputs, outputs, name="linear_probe")
    classifier.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
    )
    classifier.fit(
        x_train,
        y_train,
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=0,
    )
    probs = classifier.predict(x_test, batch_size=1024, verbose=0)
    return float(np.mean(np.argmax(probs, axis=1) == y_test))


def linear_probe(
    encoder,
    train,
    test,
    method="sklearn",
    batch_size=256,
    scaling="minmax",
    C=10.0,
    tol=0.1,
    max_iter=100,
    epochs=30,
    learning_rate=1e-2,
    probe_batch_size=256,
    num_classes=None,
    seed=0,
):
    """Accuracy of a linear classifier trained on frozen features.

    Features of `train` and `test` are extracted with `encoder` in inference
    mode, scaled with statistics of the training features, then:

    - `method="sklearn"` (Tschannen et al. 2020's protocol): multinomial
      `sklearn.linear_model.LogisticRegression(solver="saga", C=10,
      tol=0.1)` on MinMax-scaled features, fit on `train`, accuracy on
      `test`. scikit-learn is imported only here.
    - `method="keras"`: a single `Dense(num_classes, softmax)` layer trained
      with Adam and sparse cross-entropy for `epochs` epochs.

    Args:
        encoder: Keras layer/model, callable, or `None` (raw inputs: the
            baseline).
        train: `(x, y)` arrays or a batched `tf.data.Dataset` of `(x, y)`.
        test: same, for the accuracy.
        method: `"sklearn"` or `"keras"`.
        batch_size: batch size of feature extraction (array inputs).
        scaling: `"minmax"` (default), `"standard"` or `None`.
        C: inverse L2 strength of the sklearn classifier.
        tol: stopping tolerance of the sklearn solver.
        max_iter: iteration cap of the sklearn solver.
        epochs: training epochs of the Keras classifier.
        learning_rate: Adam learning rate of the Keras classifier.
        probe_batch_size: batch size of the Keras classifier.
        num_classes: number of classes (default: largest label + 1).
        seed: seed of the solver's shuffling / the Dense initialisation.

    Returns:
        Test accuracy, a float in [0, 1].

    Example:

    >>> linear_probe(None, (x_train, y_train), (x_test, y_test))  # pixels
    0.95...
    >>> linear_probe(encoder, train_ds, test_ds, method="keras")
    """
    if method not in _METHODS:
        raise ValueError(
            f"`method` must be one of {_METHODS}; received method={method!r}."
        )
    if scaling not in _SCALINGS:
        raise ValueError(
            f"`scaling` must be one of {_SCALINGS}; received {scaling!r}."
        )
    check_positive("C", C)
    check_positive("tol", tol)
    check_positive("epochs", epochs)
    check_positive("learning_rate", learning_rate)
    x_train, y_train = extract_features(encoder, train, batch_size)
    x_test, y_test = extract_features(encoder, test, batch_size)
    _require_labels("train", y_train)
    _require_labels("test", y_test)
    if x_train.shape[1] != x_test.shape[1]:
        raise ValueError(
            "train and test features differ in width: "
            f"{x_train.shape[1]} vs {x_test.shape[1]}."
        )
    if method == "sklearn":
        return _sklearn_probe(
            (x_train, y_train),
            (x_test, y_test),
            scaling,
            C,
            tol,
            max_iter,
            seed,
        )
    largest = int(max(y_train.max(), y_test.max())) + 1
    if num_classes is None:
        num_classes = largest
    elif num_classes < largest:
        raise ValueError(
            f"`num_classes`={num_classes} but the labels go up to "
            f"{largest - 1}."
        )
    return _keras_probe(
        (x_train, y_train),
        (x_test, y_test),
        scaling,
        int(epochs),
        learning_rate,
        probe_batch_size,
        num_classes,
        seed,
    )
