"""A critic trained on a bound: a neural MI estimator used through `fit`."""

import keras
from keras import ops

from keras_infomin import bounds
from keras_infomin.losses.objective import Objective
from keras_infomin.models.trainer import Terms
from keras_infomin.models.trainer import Trainer
from keras_infomin.models.trainer import objective_attribute
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range

ESTIMATORS = tuple(bounds.BOUNDS)


@register
class MIEstimator(Trainer):
    """Estimates I(X; Y) by maximising a bound over a critic.

    `fit` reads batches `(x, y)` of joint samples (a dataset of pairs, or
    `fit(x=x, y=y)`), scores all `N x N` pairs with the critic and ascends
    the bound, through the `losses.Objective` of the Keras losses
    (`model.objective`). Each step reports `loss` (minus the bound), `mi`
    (the bound in nats) and `mi_cap` (`log N`, InfoNCE's ceiling), means
    over the epoch's steps; a batch of one pair (no negatives) trains
    nothing and is left out of them. `last_estimate` holds the latest
    counted step's value, which `EstimateRecorder` collects for
    bias/variance studies. `compile(loss=losses.SMILE())` trains another
    bound; compiled `metrics` read the score rows.

    `bound="mine"` keeps MINE's moving average of the partition function in
    the non-trainable variable `log_partition_average` (saved with the
    model); the first step starts it from the batch value, evaluation
    reads the DV value and leaves it alone.

    Under a `tf.distribute` strategy every replica assembles the score
    matrix of the global batch (`scores`), so all bounds, MINE's state and
    the logs equal a single device's. Build the estimator in the
    strategy's scope before `fit` (`model((x[:1], y[:1]))`).

    Args:
        critic: a `keras_infomin.critics` layer, name or config.
        bound: one of `ESTIMATORS` ("infonce", "nwj", "tuba", "dv", "js",
            "smile", "interpolated", "mine").
        bound_kwargs: extra arguments of the bound, e.g. `{"tau": 5.0}` for
            SMILE or `{"alpha": 0.01}` for the interpolated bound.
        mine_momentum: MINE's moving-average momentum, in [0, 1).
        target: train `|I - target|` instead of maximising the bound.

    Example:

    ```python
    dataset, true_mi = keras_infomin.data.gaussian_mi_dataset((2.0,), 500)
    model = MIEstimator(critics.Separable((256, 256), 32), bound="smile")
    model.compile(optimizer=keras.optimizers.Adam(5e-4))
    model.fit(dataset)
    ```
    """

    def __init__(
        self,
        critic="separable",
        bound="infonce",
        bound_kwargs=None,
        mine_momentum=0.9,
        target=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if bound not in ESTIMATORS:
            raise ValueError(
                f"Unknown bound {bound!r}; expected one of {ESTIMATORS}."
            )
        self.mine_momentum = check_in_range(
            "mine_momentum", mine_momentum, 0.0, 1.0, high_open=True
        )
        bound_kwargs = dict(bound_kwargs or {})
        if bound == "mine":
            bound_kwargs.setdefault("momentum", mine_momentum)
        self.objective = Objective(
            bound, bound_kwargs, critic=critic, target=target
        )
        self.last_estimate = keras.Variable(
            0.0, trainable=False, name="last_estimate"
        )
        self.track_logs("loss", "mi", "mi_cap")

    # MINE's moving average of `log E_q[e^f]` and its first-step flag.
    log_partition_average = objective_attribute("log_partition_average")
    mine_started = objective_attribute("mine_started")

    def build(self, input_shape):
        pair = (
            isinstance(input_shape, (tuple, list))
            and len(input_shape) == 2
            and all(isinstance(s, (tuple, list)) for s in input_shape)
        )
        if not pair:
            raise ValueError(
                "MIEstimator is built from a pair of shapes (x_shape, "
                f"y_shape); received {input_shape!r}. Under a tf.distribute "
                "strategy `fit` builds models from `x` alone: build the "
                "estimator first inside `strategy.scope()`, e.g. "
                "`model((x[:1], y[:1]))`."
            )
        x_shape, y_shape = input_shape
        if not self.critic.built:
            self.critic.build(tuple(x_shape), tuple(y_shape))
        self.built = True
        self.build_optimizers()

    def input_shape_of(self, data):
        x, y = _unpack_pair(data)
        return ((None,) + tuple(x.shape[1:]), (None,) + tuple(y.shape[1:]))

    def call(self, inputs, training=False):
        x, y = _unpack_pair(inputs)
        return self.critic(x, y, training=training)

    def compute_terms(self, data, training):
        x, y = _unpack_pair(data)
        estimate = self.objective.estimate_pair(
            x,
            y,
            training=training,
            with_scores=self._compile_metrics is not None,
        )
        return Terms(
            losses={"model": self.objective.loss(estimate)},
            logs={
                "mi": estimate.value,
                "mi_cap": ops.log(estimate.candidates),
            },
            weight=estimate.weight,
            labels=estimate.labels,
            predictions=estimate.scores,
            state=estimate,
        )

    def end_step(self, terms):
        estimate = terms.state
        self.last_estimate.assign(
            ops.where(estimate.weight > 0, estimate.value, self.last_estimate)
        )

    def get_config(self):
        return self.config_of(
            critic=self.critic, mine_momentum=self.mine_momentum
        )


def _unpack_pair(data):
    """Accepts `(x, y)`, `((x, y),)` or `((x, y), None, None)` from fit."""
    if isinstance(data, dict):
        return data["x"], data["y"]
    if isinstance(data, (tuple, list)):
        if len(data) == 2 and not isinstance(data[0], (tuple, list)):
            return data[0], data[1]
        if len(data) >= 1 and isinstance(data[0], (tuple, list)):
            if len(data[0]) == 2:
                return data[0][0], data[0][1]
    raise ValueError(
        "MIEstimator expects batches of joint samples (x, y): a dataset of "
        "(x, y) tuples, fit(x=x, y=y) or a dict with keys 'x' and 'y'; "
        f"received {type(data).__name__}."
    )


class EstimateRecorder(keras.callbacks.Callback):
    """Collects `model.last_estimate` after every training batch.

    Use with `steps_per_execution=1` so that every step is seen. The values
    land in `self.estimates` (a list of floats, in step order).
    """

    def __init__(self):
        super().__init__()
        self.estimates = []

    def on_train_batch_end(self, batch, logs=None):
        self.estimates.append(float(self.model.last_estimate.numpy()))
