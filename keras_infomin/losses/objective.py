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
    log_likelihood: for the upper bounds, the mean `log q(y_i | x_i)` of
        the joint pairs (what `q` maximises); otherwise `None`.
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


def _at_least(tensor, rows, required, what):
    """`tensor`, once a run-time check that `rows >= required` passed."""
    check = tf.debugging.assert_greater_equal(
        rows, required, message=f"{what}; received fewer"
    )
    with tf.control_dependencies([check]):
        return tf.identity(tensor)


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
            score-matrix predictions (with a critic of your own, give the
            temperature to that critic).
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
    (1.046, 1.0)
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

    def configure(self, bound, bound_kwargs=None, target=None):
        """Sets the bound, its arguments and the target (see the class)."""
        function = _bound_function(bound)
        if not isinstance(bound, str):
            raise ValueError(
                "`bound` must be the name of a bound (so that it can be "
                f"saved); received {bound!r}."
            )
        kwargs = dict(bound_kwargs or {})
        try:
            reserved = {"positive_mask", "log_moving_average"} & set(kwargs)
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
            # MINE's running state; identical on every replica (the global
            # score matrix), so the first replica's value is kept.
            self.log_partition_average, self.mine_started = (
                self.add_weight(
                    shape=(),
                    dtype=dtype,
                    initializer="zeros",
                    trainable=False,
                    aggregation="only_first_replica",
                    name=name,
                )
                for dtype, name in (
                    ("float32", "log_partition_average"),
                    ("bool", "mine_started"),
                )
            )

    @property
    def upper(self):
        """Whether the bound is an upper bound (`bounds.UPPER_BOUNDS`)."""
        return self.bound in bounds.UPPER_BOUNDS

    def _gathering(self):
        return self.gather and distribute.num_replicas() > 1

    # ------------------------------------------------------------- reading
    def estimate(self, y_pred, training=False, with_scores=False):
        """The `Estimate` of any prediction form (see `split_prediction`).

        `training` updates MINE's running state; `with_scores` returns the
        labels and score rows compiled metrics read.
        """
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
        return self._pair_scores(*self._embeddings(*value), training)[1]

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
            across_replicas: under a strategy, make the value the global
                batch's (rows of several replicas scored against shared
                candidates, e.g. a queue): InfoNCE averages the replicas'
                anchors, other bounds gather the score rows.
            with_scores: also return the labels and scores for metrics.
        """
        scores = local = self._tempered(scores)
        if self.upper:
            return self._upper_estimate(
                ops.stop_gradient(scores), scores, positive_mask, with_scores
            )
        mask = positive_mask
        spread = across_replicas and distribute.num_replicas() > 1
        if spread and self.bound == "infonce" and not self.symmetric:
            value, weight, candidates = self._read(scores, mask, training)
            counted = _f32(_rows(scores)) * weight
            value = distribute.cross_replica_mean(value, counted)
            one = ops.ones((), "float32")
            weight = distribute.cross_replica_mean(one, counted)
        else:
            if spread:
                scores = distribute.all_gather(scores)
                if mask is not None:
                    mask = distribute.all_gather(mask)
            value, weight, candidates = self._read(scores, mask, training)
        return self._estimate(
            value, weight, candidates, local, positive_mask, with_scores
        )

    def estimate_pair(self, za, zb, training=False, with_scores=False):
        """The `Estimate` of embeddings `za` `[N, d]` and `zb` `[M, d]`."""
        za, zb = self._embeddings(za, zb)
        if self.upper:
            return self._upper_pair(za, zb, training, with_scores)
        if (
            self.bound == "infonce"
            and not self.bound_kwargs
            and isinstance(self.critic, critics.InnerProduct)
        ):
            return self._fused(za, zb, with_scores)
        local, scores = self._pair_scores(za, zb, training)
        value, weight, candidates = self._read(scores, None, training)
        return self._estimate(
            value, weight, candidates, local, None, with_scores
        )

    # ------------------------------------------------------------ helpers
    def _tempered(self, scores):
        if self.cosine:
            raise ValueError(
                "`cosine=True` normalises embedding pairs; this `y_pred` is "
                "already a score matrix. Normalise inside the critic "
                "(InnerProduct(cosine=True)) instead."
            )
        scores = check_float_tensor("scores", scores)
        check_rank("scores", scores, 2, "a score matrix [N, M]")
        if self.temperature == 1.0:
            return _f32(scores)
        return _f32(scores) / self.temperature

    def _embeddings(self, za, zb):
        za = check_rank("z1", check_float_tensor("z1", za), 2, "[N, d]")
        zb = check_rank("z2", check_float_tensor("z2", zb), 2, "[M, d]")
        n, m = za.shape[0], zb.shape[0]
        what = (
            "The second embeddings must have at least as many rows as the "
            "first (z2[:N] are the partners of z1, the rest extra negatives)"
        )
        if None not in (n, m) and m < n:
            raise ValueError(
                f"{what}; received {tuple(za.shape)} and {tuple(zb.shape)}."
            )
        if None in (n, m):
            zb = _at_least(zb, _rows(zb), _rows(za), what)
        return _f32(za), _f32(zb)

    def _pair_scores(self, za, zb, training):
        """`(local rows, partners first; global matrix)` of a pair."""
        if not self._gathering():
            scores = _f32(self.critic(za, zb, training=training))
            return scores, scores
        candidates = distribute.gather_candidates(za, zb)
        local = _f32(self.critic(za, candidates, training=training))
        return _local_first(local, za), distribute.all_gather(local)

    def _estimate(self, value, weight, candidates, scores, mask, with_scores):
        if not with_scores:
            return Estimate(value, weight, candidates, None, None)
        if mask is None:
            labels = ops.arange(_rows(scores), dtype="int32")
        else:
            labels = ops.cast(ops.argmax(ops.cast(mask, "int32"), 1), "int32")
        return Estimate(value, weight, candidates, labels, scores)

    def _read(self, scores, mask, training):
        """`(value, weight, candidates)` of a (global) score matrix."""
        n, m = scores.shape
        if None not in (n, m) and m < n:
            bounds.validate_scores(scores)  # raises the bounds' own error
        if self.symmetric and None not in (n, m) and n != m:
            raise ValueError(
                "`symmetric=True` needs a square score matrix (both "
                f"directions); received shape {(n, m)}."
            )
        least = 3 if self.bound == "interpolated" else 1
        if (m is not None and m < 2) or (n is not None and n < least):
            zero = ops.zeros((), "float32")
            return zero, zero, _f32(m)
        rows, columns = _rows(scores), ops.shape(scores)[1]
        valid = ops.logical_and(columns >= 2, rows >= least)
        mine = self.bound == "mine"
        previous = (
            ops.convert_to_tensor(self.log_partition_average)
            if mine
            else ops.zeros((), "float32")
        )

        def compute():
            return self._value(scores, mask, previous)

        if None in (n, m):
            scores = _at_least(
                scores,
                columns,
                rows,
                "A score matrix needs at least as many columns as rows "
                "(M >= N: every x_i needs its partner y_i among them)",
            )
            value, state = ops.cond(
                valid, compute, lambda: (ops.zeros((), "float32"), previous)
            )
        else:
            value, state = compute()
        if mine and training:
            self.log_partition_average.assign(state)
            self.mine_started.assign(
                ops.logical_or(ops.convert_to_tensor(self.mine_started), valid)
            )
        return value, _f32(valid), _f32(columns)

    def _value(self, scores, mask, previous):
        """`(value, state)`: the bound, both directions if symmetric."""
        function = _bound_function(self.bound)
        kwargs = dict(self.bound_kwargs)
        if mask is not None:
            kwargs["positive_mask"] = mask
        directions = [scores] + (
            [ops.transpose(scores)] if self.symmetric else []
        )
        if self.bound != "mine":
            values = [function(s, **kwargs) for s in directions]
            return _f32(ops.mean(ops.stack(values))), previous
        # MINE starts its average from the first batch; with both
        # directions, the average follows the first.
        batch = bounds.log_mean_exp_offdiagonal(scores, mask)
        start = ops.where(self.mine_started, previous, ops.stop_gradient(batch))
        pairs = [bounds.mine(s, start, **kwargs) for s in directions]
        value = ops.mean(ops.stack([v for v, _ in pairs]))
        return _f32(value), _f32(pairs[0][1])

    def _fused(self, za, zb, with_scores):
        # `infonce_dot` has a custom gradient, which TensorFlow cannot put
        # in a `cond` under a persistent tape (trainers with several
        # players): too small a batch is masked with `where` (its value may
        # be NaN, its gradient is finite and `where` sends it 0).
        if self.critic.cosine:
            za = ops.normalize(za, axis=-1)
            zb = ops.normalize(zb, axis=-1)
        scale = _f32(self.critic.inverse_temperature())
        anchors, n = za * scale, _rows(za)
        gathering = self._gathering()
        candidates = zb
        if gathering:
            candidates = _local_first(
                distribute.gather_candidates(za, zb), za, axis=0
            )
        valid = _rows(candidates) >= 2
        if not gathering and zb.shape[0] is not None and zb.shape[0] < 2:
            value = ops.zeros((), "float32")
        elif not gathering:
            value = bounds.infonce_dot(
                anchors, candidates, symmetric=self.symmetric
            )
        else:
            value = bounds.infonce_dot(anchors, candidates)
            if self.symmetric:
                backward = _local_first(distribute.all_gather(za), za, 0)
                back = bounds.infonce_dot(zb[:n] * scale, backward)
                value = 0.5 * (value + back)
        counted = ops.logical_and(valid, n >= 1)
        value = ops.where(counted, value, 0.0)
        if gathering:
            value = distribute.cross_replica_mean(
                value, _f32(counted) * _f32(n)
            )
        scores = None
        if with_scores:
            scores = ops.matmul(anchors, ops.transpose(candidates))
        return self._estimate(
            value,
            _f32(valid),
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
