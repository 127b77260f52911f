"""`estimate_mi`: the mutual information between two arrays, in one call.

The protocol of the Beyond Normal benchmark (Czyz et al., NeurIPS 2023),
on the package's trainer: the pairs are split into a training and a
held-out part; a critic is trained on the training part with the chosen
bound (`models.MIEstimator`, through `fit`); every `eval_every` steps the
bound is read on the held-out part, batch by batch; training stops when
the held-out value has not improved for `patience` readings, and the best
reading is the estimate, with an interval over the held-out batches.
"""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from scipy import special
from scipy import stats

from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin import estimators
from keras_infomin import models
from keras_infomin.evaluation.fresh_critic import HeldOutMI
from keras_infomin.evaluation.fresh_critic import default_encoder
from keras_infomin.evaluation.fresh_critic import seeded
from keras_infomin.evaluation.fresh_critic import training_stream
from keras_infomin.utils import check_in_range
from keras_infomin.utils import check_positive
from keras_infomin.utils import register

NEURAL = tuple(bounds.BOUNDS) + tuple(bounds.UPPER_BOUNDS)
CLASSICAL = tuple(estimators.ESTIMATORS)
ESTIMATORS = NEURAL + CLASSICAL
PREPROCESSING = ("copula", "standardize", None)


# --------------------------------------------------------------- the result
@dataclasses.dataclass(frozen=True)
class MIResult(HeldOutMI):
    """What `estimate_mi` measured (values in nats; `bits` converts).

    Attributes (besides `HeldOutMI`'s `value`, `stderr`, `cap`,
    `batch_values`, `train_value`, `steps`, `batch_size`):
        estimator: the estimator's name.
        interval: `(low, high)`, the `confidence` interval of `value`
            (see `estimate_mi`); `None` for the classical estimators.
        confidence: the interval's coverage.
        best_step: the training step of the reading reported.
        history: one dict per held-out reading: `step`, `train` (the mean
            training value of the steps since the last reading), `held_out`
            and `stderr` (and `log_likelihood`, the held-out mean
            `log q(y | x)`, for the upper bounds).
        critic: the fitted critic at `best_step` (it reads preprocessed
            inputs: `result.preprocess(x, y)`), `None` for the classical
            estimators.
        preprocess: the map applied to `(x, y)` before the estimate (the
            identity when `preprocessing=None`).
        n_train, n_held_out: the rows of each part.

    For the classical estimators (`ksg`, `cca`), `value` reads all pairs;
    `stderr`, `interval`, `cap` and `train_value` are `None`, `steps` is 0.
    """

    estimator: str = ""
    interval: tuple = None
    confidence: float = 0.95
    best_step: int = 0
    history: tuple = ()
    critic: object = dataclasses.field(default=None, repr=False)
    preprocess: object = dataclasses.field(default=None, repr=False)
    n_train: int = 0
    n_held_out: int = 0

    @property
    def bits(self):
        """`value` in bits."""
        return self.value / math.log(2.0)

    @property
    def interval_bits(self):
        if self.interval is None:
            return None
        return tuple(v / math.log(2.0) for v in self.interval)

    def __str__(self):
        text = f"{self.value:.3f} nats ({self.bits:.3f} bits)"
        if self.interval is not None:
            low, high = self.interval
            text += (
                f", {self.confidence:.0%} interval [{low:.3f}, {high:.3f}] "
                f"over {len(self.batch_values)} held-out batches"
            )
        if self.cap is not None:
            text += f", cap {self.cap:.2f}"
        return f"{self.estimator}: {text}"


# -------------------------------------------------------------- preprocess
class Preprocess:
    """A per-variable invertible map fitted on the sample: `(x, y) -> (x, y)`.

    `"standardize"`: each column to zero mean and unit variance.
    `"copula"`: each column through its empirical distribution function
    and the standard normal quantile, `z = Phi^-1((rank - 1/2) / n)` (ties
    share their mean rank): every marginal becomes standard normal while
    the dependence between `x` and `y` is kept. New values are mapped by
    interpolating between the fitted ones. Image-shaped arrays (rank above
    2) are passed through unchanged.
    """

    def __init__(self, kind, x, y):
        self.kind = kind
        self.fitted = [_fit_columns(kind, a) for a in (x, y)]

    def __call__(self, x, y):
        return tuple(
            _apply_columns(self.kind, fitted, np.asarray(a))
            for fitted, a in zip(self.fitted, (x, y))
        )


def _fit_columns(kind, array):
    if kind is None or array.ndim > 2:
        return None
    if kind == "standardize":
        return array.mean(axis=0), array.std(axis=0)
    grids = []
    for column in array.T:
        values, counts = np.unique(column, return_counts=True)
        mean_rank = np.cumsum(counts) - (counts - 1) / 2.0
        grids.append((values, (mean_rank - 0.5) / len(column)))
    return grids


def _apply_columns(kind, fitted, array):
    if fitted is None:
        return array.astype("float32")
    if array.ndim == 1:
        array = array[:, None]
    if kind == "standardize":
        mean, std = fitted
        return ((array - mean) / std).astype("float32")
    columns = [
        special.ndtri(np.interp(column, values, levels))
        for column, (values, levels) in zip(array.T, fitted)
    ]
    return np.stack(columns, axis=1).astype("float32")


# ----------------------------------------------------------------- critics
@register
class EncoderCritic(critics.Critic):
    """`f(x, y) = head(encoder_x(x), encoder_y(y))` on flattened rows.

    A separable critic whose towers are any Keras encoders (a `ConvNet`
    for images, an `MLP` for vectors): the rows arrive flattened, `[N,
    prod(x_shape)]`, as every critic reads `[N, d]` rows, are reshaped to
    `[N, *x_shape]` for the encoder, and the encodings are scored by
    `head` (default the inner product).

    Args:
        x_encoder, y_encoder: Keras layers mapping `[N, *shape]` to
            `[N, d]`.
        x_shape, y_shape: the shape of one example of each side, e.g.
            `(28, 28, 1)`.
        head: critic scoring the encodings (layer or name).

    Example:

    >>> critic = EncoderCritic(encoders.ConvNet(output_dim=16),
    ...                        encoders.MLP((32,), output_dim=16),
    ...                        x_shape=(8, 8, 1), y_shape=(3,))
    >>> critic(images.reshape(len(images), -1), vectors).shape  # [N, M]
    """

    def __init__(
        self,
        x_encoder,
        y_encoder,
        x_shape,
        y_shape,
        head="inner_product",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.x_encoder = _layer(x_encoder)
        self.y_encoder = _layer(y_encoder)
        self.x_shape = tuple(int(d) for d in x_shape)
        self.y_shape = tuple(int(d) for d in y_shape)
        self.head = critics.get(head)

    def build(self, x_shape, y_shape):
        for shape, size in ((x_shape, self.x_shape), (y_shape, self.y_shape)):
            if shape[-1] is not None and shape[-1] != math.prod(size):
                raise ValueError(
                    f"EncoderCritic: rows of {shape[-1]} values cannot be "
                    f"examples of shape {size}."
                )
        x_shape, y_shape = (None, *self.x_shape), (None, *self.y_shape)
        self.x_encoder.build(x_shape)
        self.y_encoder.build(y_shape)
        self.head.build(
            self.x_encoder.compute_output_shape(x_shape),
            self.y_encoder.compute_output_shape(y_shape),
        )

    def score(self, x, y):
        x = ops.reshape(x, (-1, *self.x_shape))
        y = ops.reshape(y, (-1, *self.y_shape))
        return self.head(self.x_encoder(x), self.y_encoder(y))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                name: keras.saving.serialize_keras_object(getattr(self, name))
                for name in ("x_encoder", "y_encoder", "head")
            },
            x_shape=list(self.x_shape),
            y_shape=list(self.y_shape),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for name in ("x_encoder", "y_encoder", "head"):
            config[name] = keras.saving.deserialize_keras_object(config[name])
        return cls(**config)


def _layer(value):
    if isinstance(value, dict):
        value = keras.saving.deserialize_keras_object(value)
    if not isinstance(value, keras.layers.Layer):
        raise TypeError(
            f"Expected a Keras layer as encoder; received {value!r}."
        )
    return value


# The default vector critic and protocol, chosen on the Beyond Normal
# tasks (README, "Estimate MI in one call"): `Separable(**DEFAULT_CRITIC,
# output_dim=default_output_dim(dx, dy))`.
DEFAULT_CRITIC = {
    "hidden_units": (128, 128, 128),
    "activation": "silu",
}
DEFAULT_HELD_OUT = 0.5
DEFAULT_EVAL_EVERY = 50
DEFAULT_PATIENCE = 10
# The towers' width for images (`evaluation.default_encoder`).
DEFAULT_OUTPUT_DIM = 64


def default_output_dim(dim_x, dim_y):
    """Width of the default vector critic's embeddings: `min(dx, dy) + 1`,
    at least 4.

    A separable critic `f(x) . g(y)` of width `k` has rank `k`. The
    optimal InfoNCE critic of a Gaussian pair, `log p(y | x) / p(y)` up to
    a function of `x`, is `x^T A y + r(y)`: rank `rank(A) + 1 <= min(dx,
    dy) + 1`. Wider critics fit the training half better and the held-out
    half worse (measured on the Beyond Normal spiral, README).
    """
    return max(4, min(dim_x, dim_y) + 1)


def make_critic(critic, estimator, x_shape, y_shape):
    """The critic `estimate_mi` trains, from a name or an instance.

    Names: `"separable"` (default; for vectors
    `Separable((128, 128, 128), default_output_dim(dx, dy), "silu")`, for
    images or mixed inputs an
    `EncoderCritic` on `evaluation.default_encoder` towers, i.e. a
    `ConvNet` for images), `"conv"` (the same for images), any name of
    `critics.get`. The upper bounds (`club`, `l1out`) need a conditional
    density: their default is a `GaussianConditional` with the default
    critic's hidden layers and activation.
    """
    upper = estimator in bounds.UPPER_BOUNDS
    vectors = len(x_shape) == 2 and len(y_shape) == 2
    if isinstance(critic, critics.Critic):
        if upper and not getattr(critic, "log_density", False):
            raise ValueError(
                f"The upper bound {estimator!r} reads log densities log "
                "q(y | x): pass a conditional density critic such as "
                f"critics.GaussianConditional(); received {critic!r}."
            )
        return critic
    if upper:
        if critic not in ("separable", "gaussian_conditional") or not vectors:
            raise ValueError(
                f"The upper bound {estimator!r} fits a Gaussian conditional "
                "q(y | x) on vectors: pass critic='separable' (the default) "
                "or a critics.GaussianConditional; received "
                f"critic={critic!r} for inputs of shapes {x_shape} and "
                f"{y_shape}."
            )
        return critics.GaussianConditional(
            hidden_units=DEFAULT_CRITIC["hidden_units"],
            activation=DEFAULT_CRITIC["activation"],
        )
    if critic == "conv" or (critic == "separable" and not vectors):
        return EncoderCritic(
            default_encoder(x_shape, DEFAULT_OUTPUT_DIM),
            default_encoder(y_shape, DEFAULT_OUTPUT_DIM),
            x_shape=x_shape[1:],
            y_shape=y_shape[1:],
        )
    if critic == "separable":
        return critics.Separable(
            output_dim=default_output_dim(x_shape[1], y_shape[1]),
            **DEFAULT_CRITIC,
        )
    if not vectors:
        raise ValueError(
            f"critic={critic!r} reads vectors; for images pass "
            "critic='separable' (or 'conv': convolutional towers) or an "
            f"EncoderCritic. Received inputs of shapes {x_shape} and "
            f"{y_shape}."
        )
    return critics.get(critic)


# ------------------------------------------------------------------ checks
def check_pairs(x, y, min_rows=estimators.common.MIN_ROWS):
    """`estimators.check_samples` for vectors; the same checks for images.

    Arrays of rank above 2 (images) keep their shape; they are refused for
    different lengths, too few rows or non-finite values as vectors are,
    and when every row is the same (a constant pixel is allowed).
    """
    x_array, y_array = np.asarray(x), np.asarray(y)
    if x_array.ndim <= 2 and y_array.ndim <= 2:
        return estimators.check_samples(x, y, min_rows=min_rows)
    flat = []
    for array in (x_array, y_array):
        flat.append(array.reshape(len(array), -1) if array.ndim > 2 else array)
    try:
        estimators.check_samples(*flat, min_rows=min_rows)
    except ValueError as error:
        if "constant columns" not in str(error):
            raise
    for name, array in (("x", x_array), ("y", y_array)):
        if array.ndim > 2 and np.all(array == array[:1]):
            raise ValueError(
                f"`{name}`: every row is the same; a constant carries no "
                "information and makes the estimate undefined."
            )
    arrays = []
    for array in (x_array, y_array):
        array = array.astype(np.float64)
        arrays.append(array[:, None] if array.ndim == 1 else array)
    return tuple(arrays)


def _check_int(name, value, low=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int; received {value!r}.")
    if value < low:
        raise ValueError(f"`{name}` must be >= {low}; received {value}.")
    return int(value)


# -------------------------------------------------------------- estimation
def _cap(estimator, bound_kwargs, candidates):
    if estimator == "infonce":
        return math.log(candidates)
    if estimator == "interpolated":
        alpha = bound_kwargs.get("alpha", 0.01)
        return 1.0 + math.log(candidates / alpha)
    return None


DEFAULT_BATCH_SIZE = 256
# The held-out part is read in at least this many batches by default.
HELD_OUT_BATCHES = 4


def _batch_sizes(batch_size, eval_batch_size, n_train, n_held):
    """Training and held-out batch sizes, defaults filled in and checked."""
    if batch_size is None:
        batch_size = min(DEFAULT_BATCH_SIZE, n_train)
    if batch_size > n_train:
        raise ValueError(
            f"The training part holds {n_train} pairs, fewer than one batch "
            f"of batch_size={batch_size}. Pass more pairs, a smaller "
            "`batch_size` or a smaller `held_out`."
        )
    if eval_batch_size is None:
        eval_batch_size = min(batch_size, n_held // HELD_OUT_BATCHES)
    if eval_batch_size < 2 or n_held < 2 * eval_batch_size:
        raise ValueError(
            f"The held-out part holds {n_held} pairs: at least two batches "
            f"of two pairs or more (eval_batch_size={eval_batch_size}) are "
            "needed for the estimate and its interval. Pass more pairs, a "
            "smaller `eval_batch_size` or a larger `held_out`."
        )
    return batch_size, eval_batch_size


def _batches(array, size):
    count = len(array) // size
    return [array[b * size : (b + 1) * size] for b in range(count)]


class _HeldOut(keras.callbacks.Callback):
    """Reads the held-out bound after every epoch (`eval_every` steps).

    Keeps the best reading and the critic's weights at it, and stops
    training after `patience` readings without improvement.
    """

    def __init__(self, read, patience, max_steps, eval_every, verbose):
        super().__init__()
        self.read = read
        self.patience = patience
        self.eval_every = eval_every
        self.history = []
        self.best = None
        self.best_weights = None
        self.wait = 0
        self.bar = None
        if verbose:
            self.bar = keras.utils.Progbar(
                max_steps,
                unit_name="step",
                stateful_metrics=["train", "held_out", "best"],
            )

    def on_epoch_end(self, epoch, logs=None):
        step = (epoch + 1) * self.eval_every
        reading = self.read()
        entry = {"step": step, "train": float(logs["mi"]), **reading}
        self.history.append(entry)
        score = reading.get("log_likelihood", reading["held_out"])
        if self.best is None or score > self.best[0]:
            self.best = (score, entry)
            self.best_weights = self.model.objective.critic.get_weights()
            self.wait = 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.model.stop_training = True
        if self.bar is not None:
            best = self.best[1]["held_out"]
            values = [
                ("train", entry["train"]),
                ("held_out", entry["held_out"]),
                ("best", best),
            ]
            finished = self.model.stop_training
            self.bar.update(step, values, finalize=finished or None)


def _neural(
    estimator,
    critic,
    bound_kwargs,
    train,
    held,
    batch_size,
    eval_batch_size,
    learning_rate,
    max_steps,
    eval_every,
    patience,
    seed,
    verbose,
):
    upper = estimator in bounds.UPPER_BOUNDS
    critic = make_critic(critic, estimator, train[0].shape, train[1].shape)
    # Critics read rows [N, d]: images travel flattened (see EncoderCritic).
    train, held = (
        tuple(a.reshape(len(a), -1) for a in p) for p in (train, held)
    )
    model = models.MIEstimator(
        critic, bound=estimator, bound_kwargs=bound_kwargs
    )
    # One step per call: tracing a loop of steps costs more than it saves.
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    objective = model.objective

    @tf.function(reduce_retracing=True)
    def read_batch(xb, yb):
        estimate = objective.estimate_pair(xb, yb)
        if upper:
            return estimate.value, estimate.log_likelihood
        return estimate.value, estimate.value

    held_batches = list(
        zip(
            _batches(held[0], eval_batch_size),
            _batches(held[1], eval_batch_size),
        )
    )

    def read():
        values = np.array(
            [[float(v) for v in read_batch(xb, yb)] for xb, yb in held_batches]
        )
        entry = {
            "held_out": float(values[:, 0].mean()),
            "stderr": float(values[:, 0].std(ddof=1) / math.sqrt(len(values))),
            "batch_values": tuple(values[:, 0]),
        }
        if upper:
            entry["log_likelihood"] = float(values[:, 1].mean())
        return entry

    monitor = _HeldOut(read, patience, max_steps, eval_every, verbose)
    model.fit(
        training_stream(train, batch_size, seed),
        epochs=max(1, max_steps // eval_every),
        steps_per_epoch=eval_every,
        callbacks=[monitor],
        shuffle=False,
        verbose=0,
    )
    model.objective.critic.set_weights(monitor.best_weights)
    best = monitor.best[1]
    history = tuple(
        {k: v for k, v in entry.items() if k != "batch_values"}
        for entry in monitor.history
    )
    return model.objective.critic, best, history


def estimate_mi(
    x,
    y,
    estimator="infonce",
    critic="separable",
    bound_kwargs=None,
    preprocessing="copula",
    held_out=DEFAULT_HELD_OUT,
    batch_size=None,
    eval_batch_size=None,
    learning_rate=1e-3,
    max_steps=10_000,
    eval_every=DEFAULT_EVAL_EVERY,
    patience=DEFAULT_PATIENCE,
    confidence=0.95,
    seed=0,
    verbose=1,
):
    r"""Estimates I(X; Y) in nats from paired samples, on held-out data.

    The neural estimators (a bound of `keras_infomin.bounds`):

    1. `preprocessing` maps each variable (column) of `x` and `y`
       separately by an invertible map, which leaves I(X; Y) unchanged;
    2. the pairs are shuffled and split, `held_out` of them held out;
    3. a `models.MIEstimator` trains `critic` on the training part with
       the bound, Adam at `learning_rate`, batches of `batch_size`;
    4. every `eval_every` steps the bound is read on the held-out part in
       disjoint batches of `eval_batch_size` pairs, with the critic fixed:
       the reading is the mean over the batches;
    5. training stops after `patience` readings without a better one (or
       `max_steps`); the critic is restored to its best reading, which is
       the estimate.

    The defaults (InfoNCE; a separable critic of three silu layers of 128
    units and embeddings `default_output_dim(dx, dy)` wide; Adam at 1e-3;
    batches of 256; a reading every 50 steps, patience 10) were chosen on
    eight Beyond Normal tasks at N = 5,000, where they reach a mean
    absolute error of about 0.06 nats (README, "Estimate MI in one
    call").

    For the upper bounds (`club`, `l1out`) the critic is a conditional
    density `q(y | x)` (default `critics.GaussianConditional`), fitted by
    maximum likelihood on the training part; readings compare the
    held-out log-likelihood, and the estimate is the bound on the held-out
    part at the best one. The classical estimators (`ksg`, `cca` of
    `keras_infomin.estimators`) read all pairs (after `preprocessing`) and
    train nothing.

    Interval: given the fitted critic, the held-out batches are
    independent draws of the bound's batch estimate, so

        value +- t_{B-1, (1 + confidence) / 2} * s / sqrt(B)

    over the `B` batch values (sample standard deviation `s`) is a
    `confidence` interval for the critic's expected held-out bound (the
    Student-t version of a bootstrap over held-out batches, which is too
    narrow at a few batches). It does not include the spread between
    critics trained from other seeds or splits, nor the bound's own gap
    to the true MI (a lower bound stays below it; InfoNCE cannot exceed
    `cap = log(eval_batch_size)`). Picking the best of several readings on
    the same held-out part favours high readings slightly, as in the
    benchmark.

    Args:
        x: `[N]` or `[N, dx]` array, or images `[N, H, W, C]`.
        y: `[N]` or `[N, dy]` array, or images; row `i` pairs with `x[i]`.
        estimator: a name of `bounds.BOUNDS` ("infonce", "nwj", "tuba",
            "dv", "mine", "js", "smile", "interpolated"), of
            `bounds.UPPER_BOUNDS` ("club", "l1out") or of
            `estimators.ESTIMATORS` ("ksg", "cca").
        critic: a name (see `make_critic`: "separable", "conv",
            "concat", "bilinear", ...) or a `critics.Critic` instance
            (trained in place). Images reach the critic as flattened rows
            (`EncoderCritic` reshapes them).
        bound_kwargs: the bound's other arguments (`{"tau": 5.0}` for
            SMILE), or the classical estimator's (`{"k": 5}` for KSG).
        preprocessing: `"copula"` (each column to standard normal through
            its ranks), `"standardize"` or `None`. Images pass unchanged.
        held_out: fraction of the pairs held out, in (0, 1).
        batch_size: training batch size (the bound's `N`); default 256, or
            the training part if it is smaller.
        eval_batch_size: pairs per held-out batch; default `batch_size`,
            or less so that the held-out part makes 4 batches.
        learning_rate: Adam's learning rate.
        max_steps: most training steps.
        eval_every: training steps between held-out readings.
        patience: readings without improvement before stopping.
        confidence: coverage of the interval, in (0, 1).
        seed: seeds the split, the initial weights and the batches: the
            same seed gives the same result.
        verbose: 1 shows a progress bar, 0 nothing.

    Returns:
        An `MIResult`: `value` (nats), `bits`, `interval`, `stderr`, `cap`,
        `history`, `critic`, ...; `float(result)` is `result.value`.

    Raises:
        ValueError: different numbers of rows, fewer than 5 rows, NaN or
            infinite values, constant columns (as
            `estimators.check_samples`), an unknown estimator or critic, or
            a held-out part smaller than two batches.

    References:
        Czyz et al., Beyond Normal: On the Evaluation of Mutual
        Information Estimators, NeurIPS 2023 (the protocol). Poole et al.,
        On Variational Bounds of Mutual Information, ICML 2019 (the
        bounds). Cheng et al., CLUB, ICML 2020.

    Example:

    >>> x, y = keras_infomin.data.mi_task("1v1-normal-0.75").sample(5000)
    >>> result = keras_infomin.estimate_mi(x, y)
    >>> print(result)  # true MI 0.413 nats
    infonce: 0.412 nats (0.594 bits), 95% interval [...] ...
    """
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"Unknown estimator {estimator!r}; expected one of "
            f"{list(ESTIMATORS)}."
        )
    if preprocessing not in PREPROCESSING:
        raise ValueError(
            f"`preprocessing` must be one of {PREPROCESSING}; received "
            f"{preprocessing!r}."
        )
    check_in_range("held_out", held_out, 0.0, 1.0, True, True)
    check_in_range("confidence", confidence, 0.0, 1.0, True, True)
    check_positive("learning_rate", learning_rate)
    if batch_size is not None:
        batch_size = _check_int("batch_size", batch_size, low=2)
    if eval_batch_size is not None:
        eval_batch_size = _check_int("eval_batch_size", eval_batch_size, 2)
    max_steps = _check_int("max_steps", max_steps)
    eval_every = _check_int("eval_every", min(eval_every, max_steps))
    patience = _check_int("patience", patience)
    seed = _check_int("seed", seed, low=0)
    x, y = check_pairs(x, y)
    preprocess = Preprocess(preprocessing, x, y)
    x, y = preprocess(x, y)
    bound_kwargs = dict(bound_kwargs or {})
    if estimator in CLASSICAL:
        value = float(estimators.get(estimator)(x, y, **bound_kwargs))
        return MIResult(
            value=value,
            stderr=None,
            cap=None,
            batch_values=(),
            train_value=None,
            steps=0,
            batch_size=len(x),
            estimator=estimator,
            preprocess=preprocess,
            n_train=len(x),
        )
    order = np.random.default_rng(seed).permutation(len(x))
    cut = len(x) - int(round(held_out * len(x)))
    train = (x[order[:cut]], y[order[:cut]])
    held = (x[order[cut:]], y[order[cut:]])
    batch_size, eval_batch_size = _batch_sizes(
        batch_size, eval_batch_size, len(train[0]), len(held[0])
    )
    with seeded(seed):
        critic, best, history = _neural(
            estimator,
            critic,
            bound_kwargs,
            train,
            held,
            batch_size,
            eval_batch_size,
            learning_rate,
            max_steps,
            eval_every,
            patience,
            seed,
            verbose,
        )
    values = np.asarray(best["batch_values"])
    quantile = stats.t.ppf(0.5 + confidence / 2.0, len(values) - 1)
    half_width = quantile * best["stderr"]
    return MIResult(
        value=best["held_out"],
        stderr=best["stderr"],
        cap=_cap(estimator, bound_kwargs, eval_batch_size),
        batch_values=tuple(float(v) for v in values),
        train_value=best["train"],
        steps=history[-1]["step"],
        batch_size=batch_size,
        estimator=estimator,
        interval=(best["held_out"] - half_width, best["held_out"] + half_width),
        confidence=confidence,
        best_step=best["step"],
        history=history,
        critic=critic,
        preprocess=preprocess,
        n_train=len(train[0]),
        n_held_out=len(held[0]),
    )
