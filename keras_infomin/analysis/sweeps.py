"""`sweep`: train at one budget per view, measure I_NCE and accuracy.

InfoMin's practical lesson (Tian et al. 2020): every dataset has a sweet
spot of view strength. Views that share too much let the encoder keep
nuisances; views that share too little lose the label. Plotted as probe
accuracy against the mutual information between the views (the
"information plane") the values trace a reverse U, and the sweet spot is
its top. `sweep` measures that curve for any family of views.
"""

import functools
import hashlib
import json
import math
import numbers
import os
import time

import keras
import numpy as np

from keras_infomin import models
from keras_infomin.analysis import plots as figures
from keras_infomin.analysis.knobs import as_knob
from keras_infomin.analysis.knobs import get_knob
from keras_infomin.analysis.results import SUMMARY_COLUMNS
from keras_infomin.analysis.results import SweepResult
from keras_infomin.analysis.results import describe_sweet_spot
from keras_infomin.analysis.results import find_sweet_spot
from keras_infomin.analysis.results import summarise
from keras_infomin.analysis.store import RunStore
from keras_infomin.analysis.tables import describe_fit
from keras_infomin.analysis.tables import reverse_u_fit
from keras_infomin.analysis.tables import write_table
from keras_infomin.evaluation import extract_features
from keras_infomin.evaluation import fresh_critic_mi
from keras_infomin.evaluation import knn_accuracy
from keras_infomin.evaluation import linear_probe
from keras_infomin.evaluation.fresh_critic import FixedViews

PROBES = ("linear", "knn")
FEATURES = ("model", "encoder")


def _silent(*args, **kwargs):
    pass


# ---------------------------------------------------------------- checks
def _positive_int(name, value):
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(
            f"`{name}` must be a positive int; received {name}={value!r}."
        )
    return value


def _budgets(epochs):
    budgets = [epochs] if isinstance(epochs, int) else list(epochs)
    for e in budgets:
        _positive_int("epochs", e)
    if not budgets or budgets != sorted(set(budgets)):
        raise ValueError(
            "`epochs` must be a positive int or an increasing list of them "
            f"(budgets measured in one run); received {epochs!r}."
        )
    return budgets


def _normalise_values(knob, values):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise TypeError(
            f"`values` must be a list of knob values; received {values!r}."
        )
    values = list(values)
    if not values:
        raise ValueError("`values` is empty: nothing to sweep.")
    if knob.numeric:
        for v in values:
            if not isinstance(v, numbers.Real) or isinstance(v, bool):
                raise ValueError(
                    f"the {knob.name} values must be numbers; received {v!r}."
                )
        values = [float(v) for v in values]
    keys = [json.dumps(v) for v in values]
    if len(set(keys)) != len(keys):
        raise ValueError(f"`values` repeats a value: {values!r}.")
    return values


def _arrays(data):
    try:
        (x, y), (x_test, y_test) = data
    except (TypeError, ValueError):
        raise ValueError(
            "`data` must be ((x_train, y_train), (x_test, y_test)) arrays."
        ) from None
    x, x_test = np.asarray(x), np.asarray(x_test)
    y, y_test = np.asarray(y), np.asarray(y_test)
    if len(x) != len(y) or len(x_test) != len(y_test):
        raise ValueError(
            "images and labels differ in length: "
            f"{len(x)} / {len(y)} (train), {len(x_test)} / {len(y_test)} "
            "(test)."
        )
    if x.shape[1:] != x_test.shape[1:]:
        raise ValueError(
            "training and test images differ in shape: "
            f"{x.shape[1:]} vs {x_test.shape[1:]}."
        )
    return x, y, x_test, y_test


def _digest(*arrays):
    h = hashlib.sha1()
    for a in arrays:
        step = max(1, len(a) // 256)
        h.update(str(a.shape).encode())
        h.update(np.ascontiguousarray(a[::step]).tobytes())
    return h.hexdigest()[:16]


def _without_names(config):
    if isinstance(config, dict):
        return {k: _without_names(v) for k, v in config.items() if k != "name"}
    if isinstance(config, list):
        return [_without_names(v) for v in config]
    return config


def _describe_layer(factory):
    """What a factory builds, as JSON (layer names left out), to resume."""
    if factory is None:
        return None
    made = factory()
    try:
        config = keras.saving.serialize_keras_object(made)
        return _without_names(json.loads(json.dumps(config, default=str)))
    except Exception:  # noqa: BLE001 - any object: fall back to its type
        return type(made).__name__


def _seeds(seeds):
    if isinstance(seeds, int):
        seeds = (seeds,)
    seeds = list(seeds)
    ok = all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    if not seeds or not ok or len(set(seeds)) != len(seeds):
        raise ValueError(f"`seeds` must be distinct ints; received {seeds!r}.")
    return seeds


def _choice(name, value, allowed):
    if value not in allowed:
        raise ValueError(
            f"`{name}` must be one of {allowed}; received {name}={value!r}."
        )


def _views_key(layer):
    """A short key of a view layer's configuration (None: not described)."""
    if isinstance(layer, FixedViews):
        return None
    try:
        config = keras.saving.serialize_keras_object(layer)
        text = json.dumps(_without_names(config), sort_keys=True, default=str)
    except Exception:  # noqa: BLE001 - a layer without a usable config
        return None
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def _check_views(knob, values, sample):
    """Builds every value's views once, before any training.

    A value that cannot work fails now, not after hours. Returns the
    `RunStore` keys of the views.
    """
    keys = {}
    for value in values:
        try:
            layer = _view_layer(knob, value)
            _views_shapes(layer, sample)
        except Exception as error:
            raise ValueError(
                f"{knob.name} {knob.label(value)}: {error}"
            ) from error
        keys[json.dumps(value)] = _views_key(layer)
    return keys


def _settings(knob, spec, arrays):
    """What stored runs depend on, apart from the value, seed and views."""
    names = ("epochs", "batch_size", "learning_rate", "shared_encoder")
    names += ("features", "probe", "probe_train", "mi_steps", "mi_batch_size")
    settings = {name: spec[name] for name in names}
    settings.update(
        knob=knob.name,
        probe_input=getattr(spec["probe_input"], "__name__", None),
        probe_kwargs=json.loads(json.dumps(spec["probe_kwargs"], default=str)),
        encoder=_describe_layer(spec["encoder"]),
        projector=_describe_layer(spec["projector"]),
        mi_encoder=_describe_layer(spec["mi_encoder"]),
        data=_digest(*arrays),
    )
    return settings


# ------------------------------------------------------------------ runs
def _views_shapes(view_layer, sample):
    views = view_layer(sample, training=True)
    if not isinstance(views, (tuple, list)) or len(views) < 2:
        raise ValueError(
            "the knob's view layer must return a tuple of at least two "
            f"views; received {type(views).__name__}."
        )
    return [tuple(v.shape[1:]) for v in views]


def _view_layer(knob, value):
    """The knob's views for `value`; plain functions get a layer wrapper."""
    views = knob.views(value)
    if isinstance(views, keras.layers.Layer):
        return views
    if not callable(views):
        raise TypeError(
            f"the knob returned {type(views).__name__} for {value!r}; "
            "expected a view layer or a function from images to views."
        )
    return FixedViews(views)


def _build(knob, value, sample, spec):
    view_layer = _view_layer(knob, value)
    shapes = _views_shapes(view_layer, sample)
    shared = spec["shared_encoder"]
    if shared is None:
        shared = len(set(shapes)) == 1
    count = 1 if shared else len(shapes)
    encoders = [spec["encoder"]() for _ in range(count)]
    projector = None
    if spec["projector"] is not None:
        projector = [spec["projector"]() for _ in range(count)]
    model = models.ContrastiveModel(
        encoder=encoders[0] if shared else encoders,
        projector=(projector[0] if shared else projector)
        if projector
        else None,
        num_views=len(shapes),
        view_layer=view_layer,
    )
    model.compile(optimizer=keras.optimizers.Adam(spec["learning_rate"]))
    model(sample)
    return model, view_layer, encoders


def _features(model, encoders, spec):
    base = model if spec["features"] == "model" else encoders[0]
    transform = spec["probe_input"]
    if transform is None:
        return base

    def features(images):
        return base(transform(images), training=False)

    return features


def _accuracy(features, x, y, x_test, y_test, spec):
    train = (x[: spec["probe_train"]], y[: spec["probe_train"]])
    kwargs = dict(spec["probe_kwargs"])
    if spec["probe"] == "linear":
        return linear_probe(features, train, (x_test, y_test), **kwargs)
    kwargs.setdefault("k", min(200, len(train[0])))
    f_train, y_train = extract_features(features, train)
    f_test, y_test = extract_features(features, (x_test, y_test))
    return knn_accuracy(f_train, y_train, f_test, y_test, **kwargs)


def _run(knob, value, seed, arrays, spec, say):
    x, y, x_test, y_test = arrays
    keras.utils.set_random_seed(seed)
    model, view_layer, encoders = _build(knob, value, x[:2], spec)
    fresh = fresh_critic_mi(
        view_layer,
        x,
        held_out=x_test,
        encoder_factory=spec["mi_encoder"],
        steps=spec["mi_steps"],
        batch_size=spec["mi_batch_size"],
        seed=seed,
    )
    rows, done, seconds = [], 0, 0.0
    usable = len(x_test) // spec["mi_batch_size"] * spec["mi_batch_size"]
    for target in spec["epochs"]:
        start = time.time()
        model.fit(
            x,
            batch_size=spec["batch_size"],
            epochs=target,
            initial_epoch=done,
            shuffle=True,
            verbose=spec["fit_verbose"],
        )
        seconds += time.time() - start
        done = target
        own = model.evaluate(
            x_test[:usable],
            batch_size=spec["mi_batch_size"],
            verbose=0,
            return_dict=True,
        )
        accuracy = _accuracy(
            _features(model, encoders, spec), x, y, x_test, y_test, spec
        )
        rows.append(
            {
                "value": value,
                "label": knob.label(value),
                "seed": seed,
                "epochs": target,
                "mi": fresh.value,
                "mi_stderr": fresh.stderr,
                "mi_cap": fresh.cap,
                "mi_train": fresh.train_value,
                "model_mi": float(own["mi"]),
                "accuracy": float(accuracy),
                "train_seconds": round(seconds, 1),
            }
        )
        say(
            f"    {target} epochs: I_NCE {fresh.value:.3f} +- "
            f"{fresh.stderr:.3f} nats (fresh critic; model "
            f"{float(own['mi']):.3f}), accuracy {accuracy:.3f}, "
            f"{seconds:.0f} s"
        )
    return rows


def _baseline(knob, value, arrays, spec):
    x, y, x_test, y_test = arrays
    keras.utils.set_random_seed(spec["seeds"][0])
    model, _, encoders = _build(knob, value, x[:2], spec)
    return float(
        _accuracy(_features(model, encoders, spec), x, y, x_test, y_test, spec)
    )


# ---------------------------------------------------------------- output
def _notes(knob, spec, arrays, spot, fit, final):
    x, _, x_test, _ = arrays
    mi_batch = spec["mi_batch_size"]
    return [
        f"{len(x)} training / {len(x_test)} held-out images; "
        f"{', '.join(map(str, spec['epochs']))} epochs at batch "
        f"{spec['batch_size']}; seeds {', '.join(map(str, spec['seeds']))}.",
        f"I_NCE fresh: held-out InfoNCE of new encoders trained "
        f"{spec['mi_steps']} steps at batch {mi_batch} through each value's "
        f"views (cap log {mi_batch} = {math.log(mi_batch):.2f}); I_NCE "
        "model: the trained model's own, on the same images; sd: over "
        "seeds.",
        f"accuracy: {spec['probe']} probe of the {spec['features']}'s "
        f"features, fit on {spec['probe_train']} training images.",
        describe_sweet_spot(spot, knob),
        "accuracy vs I_NCE: "
        + describe_fit(fit, [r["mi"] for r in final])
        + ".",
    ]


def _write(out, runs, summary, notes):
    write_table(runs, out, name="runs")
    write_table(summary, out, "summary", SUMMARY_COLUMNS, notes)
    return {
        "runs_csv": os.path.join(out, "runs.csv"),
        "summary_csv": os.path.join(out, "summary.csv"),
        "summary_md": os.path.join(out, "summary.md"),
    }


def _figures(out, summary, knob, fit, spot, base, title):
    return {
        "information_plane": figures.information_plane(
            summary,
            knob,
            os.path.join(out, "information_plane.png"),
            fit=fit,
            sweet=spot,
            title=title or "",
        ),
        "knob_plot": figures.against_knob(
            summary,
            knob,
            os.path.join(out, "knob.png"),
            baseline=base,
            title=title or "",
        ),
    }


# ------------------------------------------------------------------ main
def sweep(
    knob,
    values,
    data,
    encoder,
    epochs=10,
    batch_size=128,
    seeds=(0,),
    projector=None,
    shared_encoder=None,
    learning_rate=1e-3,
    features="model",
    probe_input=None,
    probe="linear",
    probe_kwargs=None,
    probe_train=None,
    mi_steps=200,
    mi_batch_size=None,
    mi_encoder=None,
    baseline=False,
    out=None,
    plots=True,
    notes=(),
    title=None,
    verbose=1,
):
    """Trains at one budget for each value of a knob; finds the sweet spot.

    For every value (and seed) a `models.ContrastiveModel` learns on the
    training images with the knob's views (drawn inside the train step),
    at the same budget. Then

    - `mi`: the I_NCE between the views on the held-out images, read by
      a fresh critic (`evaluation.fresh_critic_mi`: new encoders trained
      `mi_steps` steps on the training images through the same views),
      one yardstick for every value; `model_mi` is the trained model's
      own held-out I_NCE;
    - `accuracy`: a linear probe (`evaluation.linear_probe`) or weighted
      kNN (`evaluation.knn_accuracy`) of the learned representation,
      fit on the training images and read on the held-out ones.

    The sweet spot is the value of best mean accuracy over seeds at the
    final budget, reported with its spread over seeds. With `out`, every
    finished value and seed is stored at once in `out/runs.json` and never
    retrained: a second call (after an interruption, or with more values
    or seeds) trains only what is missing, and refuses a folder holding a
    sweep with other settings. Tables (`runs.csv`, `summary.csv`,
    `summary.md`) and figures (`information_plane.png`, `knob.png`) are
    written there.

    Args:
        knob: a `Knob`, a name of `knobs.KNOBS` (`"crop-scale"`,
            `"jitter"`, `"patch-distance"`, `"colour-space"`; sized by the
            images) or a function from a value to a view layer.
        values: the knob's values.
        data: `((x_train, y_train), (x_test, y_test))` arrays.
        encoder: function returning a fresh encoder (called per model, and
            per view when the views do not share one).
        epochs: training budget, or an increasing list of budgets measured
            in one run (e.g. `[5, 10]`).
        batch_size: training batch size.
        seeds: seeds; each sets the initial weights, views and batches
            (the same for every value).
        projector: optional function returning a fresh projection head.
        shared_encoder: one encoder for all views; default: shared when
            the views have the same shape (one per view otherwise, e.g.
            colour channels split 1 | 2).
        learning_rate: Adam learning rate.
        features: what the probe reads: `"model"` (the model's
            representation, `model(images)`) or `"encoder"` (the first
            encoder on the raw images).
        probe_input: optional function applied to the images before the
            probe's features (e.g. a centre crop).
        probe: `"linear"` or `"knn"`.
        probe_kwargs: extra `linear_probe` / `knn_accuracy` arguments
            (e.g. `{"method": "keras"}`, `{"k": 20}`).
        probe_train: number of training images the probe fits on
            (default all).
        mi_steps: training steps of the fresh critic.
        mi_batch_size: its batch size (`cap = log mi_batch_size`), also
            that of the model's own held-out I_NCE; default `batch_size`.
            The held-out set must hold two batches.
        mi_encoder: function returning the fresh critic's encoders
            (default `evaluation.default_encoder`).
        baseline: also probe untrained encoders (first value).
        out: folder of the stored runs, tables and figures; None keeps
            everything in memory.
        plots: write the figures (needs matplotlib).
        notes: extra lines for `summary.md` (e.g. the data set).
        title: figure title.
        verbose: 0 silent, 1 a line per run, 2 also Keras' progress bar.

    Returns:
        A `SweepResult`.

    Example:

    ```python
    result = keras_infomin.analysis.sweep(
        "crop-scale",
        [0.08, 0.2, 0.5, 0.8],
        ((x_train, y_train), (x_test, y_test)),
        encoder=lambda: keras_infomin.encoders.ConvNet(output_dim=None),
        epochs=20,
        seeds=(0, 1, 2),
        out="outputs/crop_scale",
    )
    print(result.table())
    ```
    """
    x, y, x_test, y_test = arrays = _arrays(data)
    if isinstance(knob, str):
        knob = get_knob(knob, image_size=int(x.shape[1]))
    knob = as_knob(knob)
    values = _normalise_values(knob, values)
    seeds = _seeds(seeds)
    for name, factory in (
        ("encoder", encoder),
        ("projector", projector),
        ("mi_encoder", mi_encoder),
        ("probe_input", probe_input),
    ):
        if factory is not None and not callable(factory):
            raise TypeError(
                f"`{name}` must be a function; received {factory!r}."
            )
    if encoder is None:
        raise TypeError("`encoder` must be a function returning an encoder.")
    _choice("probe", probe, PROBES)
    _choice("features", features, FEATURES)
    mi_batch_size = batch_size if mi_batch_size is None else mi_batch_size
    _positive_int("batch_size", batch_size)
    _positive_int("mi_batch_size", mi_batch_size)
    _positive_int("mi_steps", mi_steps)
    if len(x_test) < 2 * mi_batch_size:
        raise ValueError(
            f"{len(x_test)} held-out images: the held-out I_NCE needs at "
            f"least two batches of mi_batch_size={mi_batch_size}."
        )
    if len(x) < batch_size:
        raise ValueError(
            f"{len(x)} training images, fewer than one batch of {batch_size}."
        )
    spec = {
        "encoder": encoder,
        "projector": projector,
        "shared_encoder": shared_encoder,
        "learning_rate": learning_rate,
        "features": features,
        "probe_input": probe_input,
        "probe": probe,
        "probe_kwargs": dict(probe_kwargs or {}),
        "probe_train": probe_train or len(x),
        "mi_steps": mi_steps,
        "mi_batch_size": mi_batch_size,
        "mi_encoder": mi_encoder,
        "epochs": _budgets(epochs),
        "batch_size": batch_size,
        "seeds": seeds,
        "fit_verbose": 1 if verbose >= 2 else 0,
    }
    say = functools.partial(print, flush=True) if verbose else _silent
    view_keys = _check_views(knob, values, x[:2])
    store = RunStore(out, _settings(knob, spec, arrays), view_keys)
    total, step = len(values) * len(seeds), 0
    for seed in seeds:
        for value in values:
            step += 1
            head = f"[{step}/{total}] {knob.name} {knob.label(value)}"
            head += f", seed {seed}"
            if store.finished(value, seed, spec["epochs"]):
                say(f"{head}: stored, not retrained")
                continue
            say(head)
            rows = _run(knob, value, seed, arrays, spec, say)
            store.replace(value, seed, rows)
    base = None
    if baseline:
        base = store.baseline(values[0])
        if base is None:
            say(f"[baseline] untrained encoders, {knob.label(values[0])}")
            base = _baseline(knob, values[0], arrays, spec)
            store.set_baseline(values[0], base)
    runs = store.runs_of(values, seeds)
    summary = summarise(runs, values, spec["epochs"])
    spot = find_sweet_spot(runs, summary, knob.numeric)
    final = [r for r in summary if r["epochs"] == spec["epochs"][-1]]
    fit = reverse_u_fit(
        [r["mi"] for r in final], [r["accuracy"] for r in final]
    )
    result_notes = list(notes) + _notes(knob, spec, arrays, spot, fit, final)
    if base is not None:
        result_notes.append(f"untrained encoders: accuracy {base:.3f}.")
    files = {}
    if out is not None:
        files = _write(out, runs, summary, result_notes)
        if plots:
            files.update(_figures(out, summary, knob, fit, spot, base, title))
        files["runs"] = store.path
    return SweepResult(
        knob=knob,
        runs=runs,
        summary=summary,
        sweet_spot=spot,
        baseline=base,
        fit=fit,
        notes=result_notes,
        files=files,
    )
