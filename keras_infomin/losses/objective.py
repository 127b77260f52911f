"""The MI objective: one object read by the losses, the metric and trainers.

`Objective` holds everything that turns a model's output into a bound:
the bound's name and arguments (and MINE's running state), the critic
(the inner product over `temperature`, cosine with `cosine=True`, or any
`keras_infomin.critics` layer), `symmetric`, the target mode `|I - t|`, the
fused InfoNCE path (`bounds.infonce_dot`) and the gathering of negatives
across replicas. `keras_infomin.losses`, `metrics.MutualInformation` and
every trainer of `keras_infomin.models` compute their MI through it.

Predictions it reads (`split_prediction`):

- a score matrix `[N, M]` (a critic's output), positives on the diagonal;
- two embeddings `(z1, z2)` of `[N, d]` and `[M, d]` (a tuple or list, or
  stacked `[N, 2, d]`), scored by the critic; `z2[N:]` are extra negatives.

Under a `tf.distribute` strategy, embeddings are gathered from every
replica (with gradients): each replica scores its rows against the global
batch and every replica obtains the value one replica computes on the
whole batch. A score matrix is the model's own: its negatives are those
it scored, per replica.

Batches too small for the bound (no negative: one row, or fewer than 3
rows for `interpolated`), typically the last batch of an epoch, carry no
information about it: their estimate has `weight` 0, value 0 and no
gradient, so trainers and the metric leave them out of the logs and the
losses return 0. Fewer candidates than rows (`M < N`) is malformed input
and raises, at trace time for static shapes, at run time otherwise.
"""

import collections
import inspect

import keras
import tensorflow as tf
from keras import ops

from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin import distribute
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_float_tensor
from keras_infomin.utils.validation import check_positive
from keras_infomin.utils.validation import check_rank

Estimate = collections.namedtuple(
    "Estimate",
    ["value", "weight", "candidates", "labels", "scores", "log_likelihood"],
    defaults=(None,),
)
Estimate.__doc__ = """An MI estimate of one batch.

Fields:
    value: float32 scalar, the bound in nats (0 for a skipped batch).
    weight: float32 scalar, 1 if the batch counts, 0 if it was too small.
    candidates: float32 scalar, the candidates per row `M` (InfoNCE's cap
        is `log M`).
    labels, scores: with `with_scores=True`, the positive column of each
        local row (int32 `[n]`) and the local score rows `[n, M]`, the form
        compiled Keras metrics read; otherwise `None`.
"""


def split_prediction(y_pred):
    """Returns `("scores", S)` or `("pair", (z1, z2))` for a model output.

    Accepted forms:
      - `[N, M]` score matrix (a critic's output);
      - `[N, 2, d]` two stacked embeddings, e.g. a model whose output is
        `keras.ops.stack([z1, z2], axis=1)`;
      - a tuple or list `(z1, z2)` of `[N, d]` and `[M, d]` embeddings.
    """
    if isinstance(y_pred, (tuple, list)):
        if len(y_pred) != 2:
            raise ValueError(
                "A pair prediction must hold exactly two embeddings "
                f"(z1, z2); received {len(y_pred)} tensors."
            )
        z1 = check_float_tensor("y_pred[0]", y_pred[0])
        z2 = check_float_tensor("y_pred[1]", y_pred[1])
        return "pair", (z1, z2)
    y_pred = check_float_tensor("y_pred", y_pred)
    rank = len(y_pred.shape)
    if rank == 2:
        return "scores", y_pred
    if rank == 3 and y_pred.shape[1] == 2:
        return "pair", (y_pred[:, 0], y_pred[:, 1])
    raise ValueError(
        "`y_pred` must be a score matrix [N, M], two stacked embeddings "
        "[N, 2, d] (keras.ops.stack([z1, z2], axis=1)) or a tuple (z1, z2); "
        f"received shape {tuple(y_pred.shape)}."
    )


def _f32(x):
    return ops.cast(x, "float32")


def _rows(x):
    return ops.shape(x)[0]


def _local_first(candidates, anchors, axis=1):
    """Rolls the partner block so that this replica's partners come first."""
    offset = distribute.local_batch_offset(anchors)
    width = distribute.global_batch_size(anchors)
    if axis == 0:
        partners = ops.roll(candidates[:width], -offset, axis=0)
        return ops.concatenate([partners, candidates[width:]], 0)
    partners = ops.roll(candidates[:, :width], -offset, axis=1)
    return ops.concatenate([partners, candidates[:, width:]], 1)


def _bound_function(name):
    if name in bounds.UPPER_BOUNDS:
        return bounds.get_upper(name)
    return bounds.get(name)


def _skipped(candidates):
    zero = ops.zeros((), "float32")
    return zero, zero, _f32(candidates)


@register
class Objective(keras.layers.Layer):
    r"""An MI bound read from a model's output, the same for every caller.

        value = bound(S),  S[i, j] = f(x_i, y_j),  loss = -value
        (target mode: loss = |value - target|)

    With `symmetric=True` the bound is averaged over both directions,
    `0.5 * (bound(S) + bound(S^T))` (square `S`). InfoNCE with the inner
    product critic takes the fused path `bounds.infonce_dot` (no `[N, M]`
    buffer kept for the backward pass). Embeddings are cast to float32
    before they are scored, so mixed-precision models train the bound in
    float32.

    Upper bounds (`"club"`, `"l1out"` of `bounds.UPPER_BOUNDS`) are for
    minimising MI. Their critic is a conditional density (a critic with
    `log_density = True`, e.g. `critics.GaussianConditional`) whose scores
    are `log q(y_j | x_i)`, and an estimate has two parts:

        value          = bound(L),  L scored with q's weights held fixed
                         (the gradient reaches the embeddings only)
        log_likelihood = mean_i L_ii, L scored on stopped embeddings
                         (the gradient reaches q only)
        loss           = value - log_likelihood

    so one loss serves a model that minimises the bound while `q` fits by
    maximum likelihood, whether one optimizer updates both or each player
    of a `models.Trainer` updates its own variables. A score-matrix
    prediction (the model's own `log q`) only fits `q`: its `value` is
    reported without a gradient.

    Args:
        bound: a name of `keras_infomin.bounds.BOUNDS` (`"mine"` included)
            or of `bounds.UPPER_BOUNDS`.
        bound_kwargs: the bound's other arguments, e.g. `{"tau": 5.0}` for
            SMILE, `{"alpha": 0.01}` for `interpolated`, `{"momentum":
            0.9}` for MINE.
        critic: a `keras_infomin.critics` layer (or name) scoring embedding
            pairs; default: the inner product over `temperature`.
        temperature: positive divisor of the default critic's scores and of
            score-matrix predictions (leave it at 1 with your own critic:
            give the temperature to that critic).
        cosine: L2-normalise embeddings in the default critic.
        symmetric: average the bound over both directions.
        target: if set, the loss is `|value - target|` (matched-bound
            training, Tschannen et al.) instead of `-value`.
        gather: under a strategy, score embeddings against every replica's
            rows (the global batch) instead of the local ones.

    Example:

    >>> import numpy as np
    >>> objective = Objective("infonce", temperature=0.5)
    >>> z = np.eye(4, dtype="float32")
    >>> estimate = objective.estimate((z, z))
    >>> round(float(estimate.value), 3), float(estimate.weight)
    (0.896, 1.0)
    """

    def __init__(
        self,
        bound="infonce",
        bound_kwargs=None,
        critic=None,
        temperature=1.0,
        cosine=False,
        symmetric=False,
        target=None,
        gather=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.temperature = check_positive("temperature", temperature)
        self.cosine = bool(cosine)
        self.own_critic = critic is None
        if critic is None:
            critic = critics.InnerProduct(
                cosine=cosine, temperature=temperature
            )
        elif temperature != 1.0 or cosine:
            raise ValueError(
                "`temperature` and `cosine` configure the default inner "
                "product critic; with a critic of your own, set them on it "
                "(e.g. critics.InnerProduct(cosine=True, temperature=0.1)). "
                f"Received critic={critic!r}, temperature={temperature}, "
                f"cosine={cosine}."
            )
        self.critic = critics.get(critic)
        self.symmetric = bool(symmetric)
        self.gather = bool(gather)
        self.configure(bound, bound_kwargs, target)
        self.built = True

    # ------------------------------------------------------------ settings
    def configure(self, bound, bound_kwargs=None, target=None):
        """Sets the bound, its arguments and the target (see the class)."""
        function = _bound_function(bound)
        if not isinstance(bound, str):
            raise ValueError(
                "`bound` must be the name of a bound (so that it can be "
                f"saved); received {bound!r}."
            )
        kwargs = dict(bound_kwargs or {})
        reserved = {"positive_mask", "log_moving_average"} & set(kwargs)
        try:
            if reserved:
                raise TypeError(f"{sorted(reserved)} are set by the objective")
            inspect.signature(function).bind(None, **kwargs)
        except TypeError as error:
            raise ValueError(
                f"`bound_kwargs` {kwargs} do not fit the bound {bound!r} "
                f"({error})."
            ) from None
        if target is not None:
            check_positive("target", target, allow_zero=True)
        if bound in bounds.UPPER_BOUNDS and (
            self.temperature != 1.0 or self.cosine or self.symmetric
        ):
            raise ValueError(
                f"The upper bound {bound!r} reads log-likelihoods log "
                "q(y_j | x_i) of one direction: `temperature`, `cosine` and "
                "`symmetric` do not apply (received temperature="
                f"{self.temperature}, cosine={self.cosine}, symmetric="
                f"{self.symmetric})."
            )
        self.bound, self.bound_kwargs, self.target = bound, kwargs, target
        if bound == "mine" and not hasattr(self, "log_partition_average"):
            self.log_partition_average = self.add_weight(
                shape=(),
                initializer="zeros",
                trainable=False,
                aggregation="only_first_replica",
                name="log_partition_average",
            )
            self.mine_started = self.add_weight(
                shape=(),
                dtype="bool",
                initializer="zeros",
                trainable=False,
                aggregation="only_first_replica",
                name="mine_started",
            )

    def fused(self):
        """Whether embedding pairs take the fused InfoNCE path."""
        return (
            self.bound == "infonce"
            and not self.bound_kwargs
            and isinstance(self.critic, critics.InnerProduct)
        )

    @property
    def upper(self):
        """Whether the bound is an upper bound (`bounds.UPPER_BOUNDS`)."""
        return self.bound in bounds.UPPER_BOUNDS

    def _min_rows(self):
        return 3 if self.bound == "interpolated" else 1

    def _gathering(self):
        return self.gather and distribute.num_replicas() > 1

    # ------------------------------------------------------------- reading
    def estimate(self, y_pred, training=False, with_scores=False):
        """The `Estimate` of any prediction form (see `split_prediction`)."""
        kind, value = split_prediction(y_pred)
        if kind == "pair":
            return self.estimate_pair(*value, training, with_scores)
        return self.estimate_scores(
            value, training=training, with_scores=with_scores
        )

    def loss(self, estimate):
        """`-value`, or `|value - target|`; 0 for a skipped batch.

        Upper bounds: `value - log_likelihood` (or `|value - target| -
        log_likelihood`), see the class.
        """
        if self.target is not None:
            loss = ops.abs(estimate.value - self.target)
        elif self.upper:
            loss = estimate.value
        else:
            loss = -estimate.value
        if self.upper:
            loss = loss - estimate.log_likelihood
        return loss * estimate.weight

    def scores(self, y_pred, training=False):
        """The score matrix of a prediction, global for embedding pairs.

        Pairs are scored by the critic; under a strategy (with `gather`)
        every replica holds the whole batch's `[N, M]` matrix, positives on
        the diagonal. Score matrices are divided by the temperature.
        """
        kind, value = split_prediction(y_pred)
        if kind == "scores":
            return self._tempered(value)
        za, zb = self._embeddings(*value)
        if not self._gathering():
            return _f32(self.critic(za, zb, training=training))
        candidates = distribute.gather_candidates(za, zb)
        local = _f32(self.critic(za, candidates, training=training))
        return distribute.all_gather(local)

    def _tempered(self, scores):
        if self.cosine:
            raise ValueError(
                "`cosine=True` normalises embedding pairs; this `y_pred` is "
                "already a score matrix. Normalise inside the critic "
                "(InnerProduct(cosine=True)) instead."
            )
        scores = check_float_tensor("scores", scores)
        check_rank("scores", scores, 2, "a score matrix [N, M]")
        return _f32(scores) / self.temperature

    def _embeddings(self, za, zb):
        za = check_float_tensor("z1", za)
        zb = check_float_tensor("z2", zb)
        check_rank("z1", za, 2, "[N, d] embeddings")
        check_rank("z2", zb, 2, "[M, d] embeddings")
        n, m = za.shape[0], zb.shape[0]
        if n is not None and m is not None and m < n:
            raise ValueError(
                "The second embeddings must have at least as many rows as "
                f"the first (z2[:N] are the partners of z1, the rest extra "
                f"negatives); received {tuple(za.shape)} and "
                f"{tuple(zb.shape)}."
            )
        if n is None or m is None:
            check = tf.debugging.assert_greater_equal(
                _rows(zb),
                _rows(za),
                message="The second embeddings must have at least as many "
                "rows as the first (z2[:N] are the partners of z1); received "
                "fewer",
            )
            with tf.control_dependencies([check]):
                zb = tf.identity(zb)
        return _f32(za), _f32(zb)

    # -------------------------------------------------------- score input
    def estimate_scores(
        self,
        scores,
        positive_mask=None,
        training=False,
        across_replicas=False,
        with_scores=False,
    ):
        """The `Estimate` of a score matrix `[N, M]`.

        Args:
            scores: the critic's scores (divided here by the temperature).
            positive_mask: optional boolean `[N, M]` mask of the positives.
            training: update MINE's running state.
            across_replicas: make the value the global batch's under a
                strategy (rows of several replicas scored against shared
                candidates, e.g. a queue): InfoNCE averages the replicas'
                anchors, other bounds gather the score rows.
            with_scores: also return the labels and scores for metrics.
        """
        scores = self._tempered(scores)
        if self.upper:
            return self._upper_estimate(
                ops.stop_gradient(scores), scores, positive_mask, with_scores
            )
        local, local_mask = scores, positive_mask
        if across_replicas and distribute.num_replicas() > 1:
            if self.bound == "infonce" and not self.symmetric:
                rows = _rows(scores)
                value, weight, candidates = self._read(
                    scores, positive_mask, training
                )
                counted = _f32(rows) * weight
                value = distribute.cross_replica_mean(value, counted)
                weight = distribute.cross_replica_mean(
                    ops.ones((), "float32"), counted
                )
                return self._estimate(
                    value, weight, candidates, local, local_mask, with_scores
                )
            scores = distribute.all_gather(scores)
            if positive_mask is not None:
                positive_mask = distribute.all_gather(positive_mask)
        value, weight, candidates = self._read(scores, positive_mask, training)
        return self._estimate(
            value, weight, candidates, local, local_mask, with_scores
        )

    def _estimate(self, value, weight, candidates, scores, mask, with_scores):
        if not with_scores:
            return Estimate(value, weight, candidates, None, None)
        if mask is None:
            labels = ops.arange(_rows(scores), dtype="int32")
        else:
            labels = ops.cast(ops.argmax(ops.cast(mask, "int32"), 1), "int32")
        return Estimate(value, weight, candidates, labels, scores)

    def _read(self, scores, positive_mask, training):
        """`(value, weight, candidates)` of a (global) score matrix."""
        n, m = scores.shape
        if n is not None and m is not None and m < n:
            bounds.validate_scores(scores)  # raises the bounds' own error
        if self.symmetric and None not in (n, m) and n != m:
            raise ValueError(
                "`symmetric=True` needs a square score matrix (both "
                f"directions); received shape {(n, m)}."
            )
        if (m is not None and m < 2) or (
            n is not None and n < self._min_rows()
        ):
            return _skipped(m)
        rows, columns = _rows(scores), ops.shape(scores)[1]
        valid = ops.logical_and(columns >= 2, rows >= self._min_rows())
        if n is None or m is None:
            scores = self._assert_shape(scores, rows, columns)
        if self.bound == "mine":
            return self._read_mine(scores, positive_mask, valid, training)
        static = n is not None and m is not None
        if static:
            value = self._value(scores, positive_mask)
        else:
            value = ops.cond(
                valid,
                lambda: self._value(scores, positive_mask),
                lambda: ops.zeros((), "float32"),
            )
        return value, _f32(valid), _f32(columns)

    def _assert_shape(self, scores, rows, columns):
        checks = [
            tf.debugging.assert_greater_equal(
                columns,
                rows,
                message="A score matrix needs at least as many columns as "
                "rows (M >= N: every x_i needs its partner y_i among the "
                "candidates); received fewer",
            )
        ]
        if self.symmetric or self.bound in ("interpolated", "l1out"):
            checks.append(
                tf.debugging.assert_equal(
                    columns,
                    rows,
                    message=f"bound {self.bound!r} with symmetric="
                    f"{self.symmetric} needs a square score matrix",
                )
            )
        with tf.control_dependencies(checks):
            return tf.identity(scores)

    def _value(self, scores, positive_mask):
        function = _bound_function(self.bound)
        kwargs = dict(self.bound_kwargs)
        if positive_mask is not None:
            kwargs["positive_mask"] = positive_mask
        value = function(scores, **kwargs)
        if self.symmetric:
            value = 0.5 * (value + function(ops.transpose(scores), **kwargs))
        return _f32(value)

    def _read_mine(self, scores, positive_mask, valid, training):
        kwargs = dict(self.bound_kwargs)
        if positive_mask is not None:
            kwargs["positive_mask"] = positive_mask
        started = ops.convert_to_tensor(self.mine_started)
        previous = ops.convert_to_tensor(self.log_partition_average)

        def update():
            batch = ops.stop_gradient(
                bounds.log_mean_exp_offdiagonal(scores, positive_mask)
            )
            state_in = ops.where(started, previous, batch)
            value, state = bounds.mine(scores, state_in, **kwargs)
            if self.symmetric:
                back, _ = bounds.mine(ops.transpose(scores), state_in, **kwargs)
                value = 0.5 * (value + back)
            return _f32(value), _f32(state)

        value, state = ops.cond(
            valid, update, lambda: (ops.zeros((), "float32"), previous)
        )
        if training:
            self.log_partition_average.assign(state)
            self.mine_started.assign(ops.logical_or(started, valid))
        return value, _f32(valid), _f32(ops.shape(scores)[1])

    # ---------------------------------------------------------- pair input
    def estimate_pair(self, za, zb, training=False, with_scores=False):
        """The `Estimate` of embeddings `za` `[N, d]` and `zb` `[M, d]`."""
        za, zb = self._embeddings(za, zb)
        if self.upper:
            return self._upper_pair(za, zb, training, with_scores)
        if self.fused():
            return self._fused_pair(za, zb, with_scores)
        if not self._gathering():
            scores = _f32(self.critic(za, zb, training=training))
            value, weight, candidates = self._read(scores, None, training)
            return self._estimate(
                value, weight, candidates, scores, None, with_scores
            )
        candidates = distribute.gather_candidates(za, zb)
        local = _f32(self.critic(za, candidates, training=training))
        value, weight, count = self._read(
            distribute.all_gather(local), None, training
        )
        if with_scores:
            local = _local_first(local, za)
        return self._estimate(value, weight, count, local, None, with_scores)

    def _fused_pair(self, za, zb, with_scores):
        # `infonce_dot` has a custom gradient, which TensorFlow cannot put
        # in a `cond` under a persistent tape (several players): a batch
        # too small is masked with `where` instead. Its value may then be
        # NaN (no rows) but its gradient is finite, and `where` sends it 0.
        scale = ops.cast(self.critic.inverse_temperature(), "float32")
        if self.critic.cosine:
            za = ops.normalize(za, axis=-1)
            zb = ops.normalize(zb, axis=-1)
        anchors = za * scale
        n = _rows(za)
        if not self._gathering():
            candidates = zb
            static = None not in (za.shape[0], zb.shape[0])
            if self.symmetric and not static:
                candidates = self._assert_shape(zb, n, _rows(zb))
            valid = ops.logical_and(_rows(candidates) >= 2, n >= 1)
            if static and zb.shape[0] < 2:
                value = ops.zeros((), "float32")
            else:
                value = bounds.infonce_dot(
                    anchors, candidates, symmetric=self.symmetric
                )
                if not static:
                    value = ops.where(valid, value, 0.0)
            weight = _f32(valid)
        else:
            # Every collective runs for every replica, even one that holds
            # no rows of a short batch.
            candidates = _local_first(
                distribute.gather_candidates(za, zb), za, axis=0
            )
            valid_global = _rows(candidates) >= 2
            valid = ops.logical_and(valid_global, n >= 1)
            local = bounds.infonce_dot(anchors, candidates)
            if self.symmetric:
                back = bounds.infonce_dot(
                    zb[:n] * scale, distribute.all_gather_local_first(za)
                )
                local = 0.5 * (local + back)
            local = ops.where(valid, local, 0.0)
            value = distribute.cross_replica_mean(local, _f32(n) * _f32(valid))
            weight = _f32(valid_global)
        scores = None
        if with_scores:
            scores = ops.matmul(anchors, ops.transpose(candidates))
        return self._estimate(
            value,
            weight,
            _f32(_rows(candidates)),
            scores,
            None,
            with_scores,
        )

    # -------------------------------------------------------- upper bounds
    def _upper_pair(self, za, zb, training, with_scores):
        if not getattr(self.critic, "log_density", False):
            raise ValueError(
                f"The upper bound {self.bound!r} reads log densities log "
                "q(y_j | x_i): give the objective a conditional density "
                "critic (critics.GaussianConditional()) or pass the "
                f"log-likelihood matrix; received critic {self.critic.name!r}."
            )
        stopped = (ops.stop_gradient(za), ops.stop_gradient(zb))
        fit_scores = self.scores(stopped, training=training)
        fixed = [
            (v, ops.stop_gradient(v)) for v in self.critic.trainable_variables
        ]
        with keras.StatelessScope(state_mapping=fixed):
            bound_scores = self.scores((za, zb), training=training)
        return self._upper_estimate(bound_scores, fit_scores, None, with_scores)

    def _upper_estimate(self, bound_scores, fit_scores, mask, with_scores):
        value, weight, candidates = self._read(bound_scores, mask, False)
        log_likelihood = bounds.conditional_log_likelihood(fit_scores, mask)
        estimate = self._estimate(
            value, weight, candidates, fit_scores, mask, with_scores
        )
        return estimate._replace(log_likelihood=_f32(log_likelihood) * weight)

    # -------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            bound=self.bound,
            bound_kwargs=dict(self.bound_kwargs),
            critic=None
            if self.own_critic
            else keras.saving.serialize_keras_object(self.critic),
            temperature=self.temperature,
            cosine=self.cosine,
            symmetric=self.symmetric,
            target=self.target,
            gather=self.gather,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if config.get("critic") is not None:
            config["critic"] = keras.saving.deserialize_keras_object(
                config["critic"]
            )
        return cls(**config)
