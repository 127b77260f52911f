"""Callbacks that evaluate the representation during `model.fit`.

Every monitor runs every `every` epochs (and after the last epoch) and
writes its value into the epoch's `logs`, so that `History`, the progress
bar, `EarlyStopping` / `ModelCheckpoint(monitor=...)` and `TensorBoard`
see it, provided the monitor comes before them in the callback list.
"""

import inspect

import keras

from keras_infomin.evaluation.features import extract_features
from keras_infomin.evaluation.fresh_critic import fresh_critic_mi
from keras_infomin.evaluation.knn import knn_accuracy
from keras_infomin.evaluation.linear_probe import linear_probe
from keras_infomin.evaluation.rankme import rankme
from keras_infomin.models.trainer import Trainer
from keras_infomin.utils import check_positive


class _PeriodicCallback(keras.callbacks.Callback):
    """Shared logic: decide when to run, write the value into the logs.

    Subclasses implement `measure()`, returning the value, or a pair
    `(value, extra_logs)` whose dict is written into the logs too.
    """

    def __init__(self, every, log_key):
        super().__init__()
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(
                f"`every` must be a positive int; received every={every!r}."
            )
        if not isinstance(log_key, str) or not log_key:
            raise ValueError(
                f"`log_key` must be a non-empty string; received {log_key!r}."
            )
        self.every = every
        self.log_key = log_key
        self.history = []  # (epoch, value) pairs, epochs counted from 0

    def _due(self, epoch):
        last = (self.params or {}).get("epochs")
        return (epoch + 1) % self.every == 0 or (
            last is not None and epoch + 1 == last
        )

    def measure(self):
        raise NotImplementedError

    def on_epoch_end(self, epoch, logs=None):
        if not self._due(epoch):
            return
        result = self.measure()
        value, extra = result if isinstance(result, tuple) else (result, {})
        value = float(value)
        self.history.append((epoch, value))
        if logs is not None:
            logs[self.log_key] = value
            logs.update(extra)


class _EvaluationCallback(_PeriodicCallback):
    """A monitor of the encoder's frozen features on given data."""

    def __init__(self, train, test, every, encoder, batch_size, log_key):
        super().__init__(every, log_key)
        check_positive("batch_size", batch_size)
        self.train = train
        self.test = test
        self.encoder = encoder
        self.batch_size = int(batch_size)

    def resolve_encoder(self):
        """The encoder to evaluate.

        In order: the `encoder` given to the constructor (a layer, model or
        callable; a string names an attribute of the model, e.g.
        `"online_encoder"`); else, for a trainer of `keras_infomin.models`,
        the model itself (its `call` is the representation: inference
        views, every encoder); else `model.encoder` when the model has
        one; else the model itself.
        """
        encoder = self.encoder
        if isinstance(encoder, str):
            if not hasattr(self.model, encoder):
                raise AttributeError(
                    f"the model has no attribute {encoder!r} to use as "
                    "encoder; pass the encoder itself or an existing "
                    "attribute name."
                )
            return getattr(self.model, encoder)
        if encoder is not None:
            return encoder
        if isinstance(self.model, Trainer):
            return self.model
        encoder = getattr(self.model, "encoder", None)
        return self.model if encoder is None else encoder

    def evaluate(self, encoder):
        raise NotImplementedError

    def measure(self):
        return self.evaluate(self.resolve_encoder())


class LinearProbe(_EvaluationCallback):
    """Writes a linear probe's test accuracy into the epoch logs.

    Every `every` epochs (and after the last epoch) the encoder's frozen
    features are evaluated with `linear_probe`, and the accuracy is stored
    under `logs[log_key]`, so it appears in the `History` returned by `fit`,
    in the progress bar, and in `TensorBoard` if this callback comes before
    the `TensorBoard` callback in the list. Epochs without a probe carry no
    entry, so `history.history[log_key]` is shorter than the loss list;
    `self.history` keeps `(epoch, accuracy)` pairs.

    Args:
        train: `(x, y)` arrays or a batched `tf.data.Dataset` of `(x, y)`.
        test: same, for the accuracy.
        every: run every `every` epochs.
        encoder: a layer/model/callable, the name of a model attribute, or
            `None` (see `resolve_encoder`: a trainer's representation).
        method: `"sklearn"` or `"keras"`, see `linear_probe`.
        batch_size: batch size of feature extraction.
        log_key: key written into the logs.
        **probe_kwargs: further `linear_probe` arguments (`C`, `tol`,
            `epochs`, `learning_rate`, `scaling`, ...).

    Example:

    >>> probe = LinearProbe((x_tr, y_tr), (x_te, y_te), every=5)
    >>> history = model.fit(data, epochs=50, callbacks=[probe])
    >>> history.history["linear_probe_accuracy"]
    """

    def __init__(
        self,
        train,
        test,
        every=1,
        encoder=None,
        method="sklearn",
        batch_size=256,
        log_key="linear_probe_accuracy",
        **probe_kwargs,
    ):
        super().__init__(train, test, every, encoder, batch_size, log_key)
        if method not in ("sklearn", "keras"):
            raise ValueError(
                "`method` must be 'sklearn' or 'keras'; received "
                f"method={method!r}."
            )
        self.method = method
        self.probe_kwargs = probe_kwargs

    def evaluate(self, encoder):
        return linear_probe(
            encoder,
            self.train,
            self.test,
            method=self.method,
            batch_size=self.batch_size,
            **self.probe_kwargs,
        )


class KNNMonitor(_EvaluationCallback):
    """Writes weighted kNN accuracy (InstDisc / MoCo monitor) into the logs.

    Every `every` epochs (and after the last epoch), features of `train`
    (the memory bank) and `test` are extracted in inference mode,
    L2-normalised, and each test example is classified by its `k` most
    cosine-similar training examples weighted by `exp(s / temperature)`
    (see `knn_predict`). The accuracy goes to `logs[log_key]`, hence into
    `History` and, when this callback precedes `TensorBoard`, TensorBoard.

    Args:
        train: `(x, y)` arrays or a batched `tf.data.Dataset` of `(x, y)`.
        test: same, for the accuracy.
        k: number of neighbours (200 in InstDisc / MoCo).
        temperature: weight temperature (0.07).
        every: run every `every` epochs.
        encoder: a layer/model/callable, the name of a model attribute, or
            `None` (see `resolve_encoder`: a trainer's representation).
        batch_size: batch size of feature extraction.
        num_classes: number of classes (default: largest label + 1).
        log_key: key written into the logs.

    Example:

    >>> knn = KNNMonitor((x_tr, y_tr), (x_te, y_te), k=200, every=1)
    >>> model.fit(data, epochs=10, callbacks=[knn])
    """

    def __init__(
        self,
        train,
        test,
        k=200,
        temperature=0.07,
        every=1,
        encoder=None,
        batch_size=256,
        num_classes=None,
        log_key="knn_accuracy",
    ):
        super().__init__(train, test, every, encoder, batch_size, log_key)
        if not isinstance(k, int) or isinstance(k, bool) or k <= 0:
            raise ValueError(f"`k` must be a positive int; received k={k!r}.")
        check_positive("temperature", temperature)
        self.k = k
        self.temperature = temperature
        self.num_classes = num_classes

    def evaluate(self, encoder):
        f_train, y_train = extract_features(
            encoder, self.train, self.batch_size
        )
        f_test, y_test = extract_features(encoder, self.test, self.batch_size)
        if y_train is None or y_test is None:
            raise ValueError(
                "KNNMonitor needs labels: pass `(x, y)` arrays or datasets "
                "of `(x, y)` elements."
            )
        return knn_accuracy(
            f_train,
            y_train,
            f_test,
            y_test,
            k=self.k,
            temperature=self.temperature,
            num_classes=self.num_classes,
        )


class RankMe(_EvaluationCallback):
    """Writes the RankMe effective rank of the embeddings into the logs.

    Every `every` epochs (and after the last epoch) the encoder's features
    of `data` are extracted in inference mode and `rankme` (Garrido et al.
    2023) is logged under `log_key`: a drop signals dimensional collapse,
    without labels.

    Args:
        data: array `x`, `(x, y)` arrays or a batched `tf.data.Dataset`
            (labels are not used).
        every: run every `every` epochs.
        encoder: a layer/model/callable, the name of a model attribute, or
            `None` (use `model.encoder` or else the model).
        batch_size: batch size of feature extraction.
        eps: the constant of `rankme`.
        log_key: key written into the logs.

    Example:

    >>> monitor = RankMe(x_val[:2048], encoder="encoder")
    >>> history = model.fit(images, epochs=10, callbacks=[monitor])
    >>> history.history["rankme"]
    """

    def __init__(
        self,
        data,
        every=1,
        encoder=None,
        batch_size=256,
        eps=1e-7,
        log_key="rankme",
    ):
        super().__init__(data, None, every, encoder, batch_size, log_key)
        check_positive("eps", eps)
        self.eps = eps

    def evaluate(self, encoder):
        features, _ = extract_features(encoder, self.train, self.batch_size)
        return rankme(features, eps=self.eps)


class FreshCriticMI(_PeriodicCallback):
    """Logs the held-out I_NCE of fresh encoders through the model's views.

    Every `every` epochs (and after the last epoch) the view function is
    held fixed and `fresh_critic_mi` trains new encoders and a critic on
    part of `images` and reads the InfoNCE bound on the rest. The value
    goes to `logs[log_key]` (default `"fresh_mi"`, next to the model's own
    `mi`) and its standard error over held-out batches to
    `logs[log_key + "_stderr"]`: a learned view generator that merely hides
    information from its current adversary shows a low `mi` but a high
    `fresh_mi`. Put this callback before `EarlyStopping`,
    `ModelCheckpoint` or `TensorBoard` that read the key; with `every > 1`
    the epochs in between carry no value (`EarlyStopping` then skips them
    with a warning).

    `images` should be held out from the model's training data. Each
    measurement uses the same `seed`, so the values of successive epochs
    differ only through the views: the monitor is for views that learn
    (`models.InfoMinModel`'s generator, a view layer with trainable
    weights); a fixed view layer reads the same value every time (measure
    it once with `fresh_critic_mi`).

    Args:
        images: array of held-out images (inputs of the view function).
        views: the view function: `None` (the model's `view_layer`), the
            name of a model attribute (e.g. `"generator"` for
            `models.InfoMinModel`), or a layer or callable from images to
            a tuple of views (e.g. `lambda x: model.generator(x)`).
        every: run every `every` epochs.
        log_key: key written into the logs.
        **kwargs: `fresh_critic_mi` arguments (`encoder_factory`, `steps`,
            `batch_size`, `held_out`, `learning_rate`, `critic`, `seed`,
            `verbose`).

    Example:

    >>> monitor = FreshCriticMI(held_out_images, views="generator", every=2)
    >>> best = keras.callbacks.ModelCheckpoint(
    ...     "g.weights.h5", "fresh_mi", mode="min", save_best_only=True,
    ...     save_weights_only=True)
    >>> infomin_model.fit(images, epochs=20, callbacks=[monitor, best])
    """

    def __init__(
        self, images, views=None, every=1, log_key="fresh_mi", **kwargs
    ):
        super().__init__(every, log_key)
        if not (views is None or isinstance(views, str) or callable(views)):
            raise TypeError(
                "`views` must be None, a model attribute name, or a layer / "
                f"callable making views; received {type(views).__name__}."
            )
        # Unknown arguments fail now, not after the first epoch.
        inspect.signature(fresh_critic_mi).bind(views, images, **kwargs)
        self.images = images
        self.views = views
        self.kwargs = kwargs
        self.results = []  # the HeldOutMI of each measurement

    def resolve_views(self):
        """The view function measured (see `views`)."""
        if callable(self.views):
            return self.views
        name = "view_layer" if self.views is None else self.views
        views = getattr(self.model, name, None)
        if views is None:
            raise AttributeError(
                f"the model has no {name!r} to make the views; pass "
                "`views`, a model attribute name or a view function."
            )
        return views

    def measure(self):
        views = self.resolve_views()
        result = fresh_critic_mi(views, self.images, **self.kwargs)
        self.results.append(result)
        return result.value, {f"{self.log_key}_stderr": result.stderr}
