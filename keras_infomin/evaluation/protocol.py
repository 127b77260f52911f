"""InfoMin's view-learning protocol: learn `g`, retrain on its views, probe."""

import numpy as np

from keras_infomin.evaluation.callbacks import FreshCriticMI
from keras_infomin.evaluation.linear_probe import linear_probe
from keras_infomin.models.infomin import train_on_learned_views


def _monitor(monitor):
    if monitor is None or isinstance(monitor, FreshCriticMI):
        return monitor
    images = np.asarray(monitor)
    if images.ndim != 4:
        raise ValueError(
            "`monitor` must be None, a FreshCriticMI callback or held-out "
            f"images [N, H, W, 3]; received an array of shape {images.shape}."
        )
    return FreshCriticMI(images, views="generator")


def run_protocol(
    infomin_model,
    data,
    make_encoders,
    probe_train,
    probe_test,
    game_epochs,
    view_epochs,
    batch_size=None,
    encoder_optimizer="adam",
    probe_method="sklearn",
    monitor=None,
    callbacks=None,
    verbose=0,
):
    """InfoMin's three stages: learn g, retrain encoders on g's views, probe.

    1. The game: `infomin_model.fit` on `data` for `game_epochs`, with the
       honest monitor when `monitor` is given: every `monitor.every`
       epochs (and after the last) fresh encoders are trained on held-out
       images through the current, frozen generator and their I_NCE is
       logged as `fresh_mi` next to the game's own `mi`
       (`FreshCriticMI(views="generator")`). `callbacks` come after it,
       so `keras.callbacks.EarlyStopping("fresh_mi", mode="min",
       restore_best_weights=True)` keeps the generator whose views fresh
       adversaries found least informative.
    2. Fresh encoders (`make_encoders()`) learn on the frozen views
       (`models.train_on_learned_views`) for `view_epochs` on
       `probe_train`'s images; their I_NCE on `probe_test`'s images is
       `mi_views`.
    3. A linear probe of their concatenated features.

    Args:
        infomin_model: a compiled `models.InfoMinModel`.
        data: training images, or `(images, labels)` for semi-supervised
            games (labels -1 where unknown).
        make_encoders: callable returning a list of fresh encoders.
        probe_train, probe_test: `(images, labels)` for the linear probe.
        game_epochs, view_epochs: epochs of stages 1 and 2.
        batch_size: batch size of stages 1 and 2.
        encoder_optimizer: stage 2 optimizer (name or instance).
        probe_method: `"sklearn"` or `"keras"` (see `linear_probe`).
        monitor: `None`, held-out images (the monitor with its defaults,
            every epoch) or a `FreshCriticMI` callback.
        callbacks: further callbacks of the game's `fit`.
        verbose: Keras verbosity.

    Returns:
        A dict with `mi_views`, `probe_accuracy`, the game's `history`
        and `game_mi` (its own last `mi`); with a monitor also `fresh_mi`
        (the fresh adversaries' I_NCE of the views stage 2 used: the last
        measurement, or the one of the epoch whose weights an
        `EarlyStopping` restored) and `fresh_mi_history` (`(epoch, value)`
        pairs).

    Example:

    ```python
    result = run_protocol(
        model, images, make_encoders, (x_tr, y_tr), (x_te, y_te),
        game_epochs=20, view_epochs=20, batch_size=128,
        monitor=keras_infomin.evaluation.FreshCriticMI(
            held_out_images, views="generator", every=2),
    )
    result["fresh_mi"], result["probe_accuracy"]
    ```
    """
    monitor = _monitor(monitor)
    images, labels = data if isinstance(data, tuple) else (data, None)
    history = infomin_model.fit(
        images,
        labels,
        epochs=game_epochs,
        batch_size=batch_size,
        verbose=verbose,
        callbacks=([monitor] if monitor else []) + list(callbacks or []),
    )
    model = train_on_learned_views(
        infomin_model.generator,
        make_encoders(),
        probe_train[0],
        epochs=view_epochs,
        batch_size=batch_size,
        optimizer=encoder_optimizer,
        verbose=verbose,
    )
    logs = model.evaluate(
        probe_test[0], batch_size=batch_size, verbose=0, return_dict=True
    )
    accuracy = linear_probe(model, probe_train, probe_test, method=probe_method)
    result = {
        "mi_views": float(logs["mi"]),
        "probe_accuracy": float(accuracy),
        "game_mi": float(history.history["mi"][-1]),
        "history": history.history,
    }
    if monitor is not None:
        result["fresh_mi_history"] = list(monitor.history)
        result["fresh_mi"] = _kept_value(monitor, callbacks)
    return result


def _kept_value(monitor, callbacks):
    """The monitor's value for the weights the game ended with.

    After a callback restored the weights of its best epoch, the value
    measured at that epoch (`None` if the monitor did not run then).
    """
    for callback in callbacks or []:
        kept = getattr(callback, "restore_best_weights", False)
        if kept and getattr(callback, "best_weights", None) is not None:
            values = dict(monitor.history)
            return values.get(callback.best_epoch)
    return monitor.history[-1][1]
