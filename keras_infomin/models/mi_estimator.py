"""A critic trained on a bound: a neural MI estimator used through `fit`."""

import keras
from keras import ops

from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin import distribute
from keras_infomin.bounds.common import log_mean_exp_offdiagonal
from keras_infomin.distribute import scale_loss as scale_for_replicas
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range

ESTIMATORS = tuple(bounds.BOUNDS)


@register
class MIEstimator(keras.Model):
    """Estimates I(X; Y) by maximising a bound over a critic.

    `fit` reads batches `(x, y)` of joint samples (a dataset of pairs, or
    `fit(x=x, y=y)`), scores all `N x N` pairs with the critic and ascends
    the bound. Each step reports `loss` (minus the bound), `mi` (the bound
    in nats, averaged over the epoch) and, for InfoNCE, `mi_cap` (`log N`).
    `last_estimate` holds the latest step's value, which `EstimateRecorder`
    collects for bias/variance studies.

    `bound="mine"` keeps MINE's moving average of the partition function in
    the non-trainable variable `log_partition_average` (saved with the
    model); the first step starts it from the batch value.

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
        **kwargs,
    ):
        super().__init__(**kwargs)
        if bound not in ESTIMATORS:
            raise ValueError(
                f"Unknown bound {bound!r}; expected one of {ESTIMATORS}."
            )
        self.critic = critics.get(critic)
        self.bound = bound
        self.bound_kwargs = dict(bound_kwargs or {})
        self.mine_momentum = check_in_range(
            "mine_momentum", mine_momentum, 0.0, 1.0, high_open=True
        )
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mi_tracker = keras.metrics.Mean(name="mi")
        self.last_estimate = keras.Variable(
            0.0, trainable=False, name="last_estimate"
        )
        self.log_partition_average = keras.Variable(
            0.0, trainable=False, name="log_partition_average"
        )
        self.mine_started = keras.Variable(
            False, trainable=False, dtype="bool", name="mine_started"
        )

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

    def call(self, inputs, training=False):
        x, y = _unpack_pair(inputs)
        return self.critic(x, y, training=training)

    def scores(self, x, y, training=False):
        """The critic's `[N, N]` scores on the global batch.

        Under several replicas each replica scores its rows `x_r` against
        every replica's `y` (gathered) and the score rows are gathered in
        replica order, so every replica holds the matrix one replica would
        compute on the whole batch: the bound, MINE's moving average and
        the logs are the global ones (identical on all replicas) whatever
        the bound, while the critic's work on the pairs is split between
        replicas. Gradients reach each replica's rows through `all_gather`.
        """
        if distribute.num_replicas() == 1:
            return self((x, y), training=training)
        local = self((x, distribute.all_gather(y)), training=training)
        return distribute.all_gather(local)

    def estimate(self, scores):
        """The bound on a score matrix (with MINE's state update)."""
        if self.bound != "mine":
            return bounds.get(self.bound)(scores, **self.bound_kwargs)
        batch = ops.stop_gradient(log_mean_exp_offdiagonal(scores))
        previous = ops.where(
            self.mine_started, self.log_partition_average, batch
        )
        value, state = bounds.mine(
            scores, previous, momentum=self.mine_momentum
        )
        self.log_partition_average.assign(state)
        self.mine_started.assign(True)
        return value

    def _report(self, scores, value, loss):
        self.loss_tracker.update_state(loss)
        self.mi_tracker.update_state(value)
        self.last_estimate.assign(ops.cast(value, "float32"))
        logs = {
            "loss": self.loss_tracker.result(),
            "mi": self.mi_tracker.result(),
        }
        if self.bound == "infonce":
            logs["mi_cap"] = ops.log(ops.cast(ops.shape(scores)[1], "float32"))
        return distribute.reducible_logs(logs)

    def train_step(self, data):
        import tensorflow as tf

        x, y = _unpack_pair(data)
        with tf.GradientTape() as tape:
            scores = self.scores(x, y, training=True)
            value = self.estimate(scores)
            loss = -value
            scaled = scale_for_replicas(loss)
        grads = tape.gradient(scaled, self.critic.trainable_weights)
        self.optimizer.apply(grads, self.critic.trainable_weights)
        return self._report(scores, value, loss)

    def test_step(self, data):
        x, y = _unpack_pair(data)
        scores = self.scores(x, y, training=False)
        if self.bound == "mine":
            value = bounds.dv(scores)
        else:
            value = bounds.get(self.bound)(scores, **self.bound_kwargs)
        return self._report(scores, value, -value)

    @property
    def metrics(self):
        return [self.loss_tracker, self.mi_tracker]

    def get_config(self):
        config = super().get_config()
        config.update(
            critic=keras.saving.serialize_keras_object(self.critic),
            bound=self.bound,
            bound_kwargs=self.bound_kwargs,
            mine_momentum=self.mine_momentum,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["critic"] = keras.saving.deserialize_keras_object(
            config["critic"]
        )
        return cls(**config)


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
