"""Shared machinery of the MI losses: input forms, scaling, target mode."""

import keras
from keras import backend
from keras import ops

from keras_infomin.utils.validation import check_float_tensor
from keras_infomin.utils.validation import check_positive


def scale_for_replicas(value):
    """Divides a batch-level loss by the replicas in sync (TF backend).

    Keras sums the replicas' gradients; a loss that is already a mean over
    the local batch must be divided by the number of replicas so that the
    sum equals the gradient of the mean over the global batch (Keras's own
    rule for `"sum_over_batch_size"`).
    """
    if backend.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            value = value * ops.cast(1.0 / replicas, value.dtype)
    return value


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


def pair_scores(z1, z2, temperature=1.0, cosine=False):
    """Inner-product (or cosine) scores `z1 z2^T / temperature`."""
    if z1.shape[-1] != z2.shape[-1]:
        raise ValueError(
            "The two embeddings must have the same size; received "
            f"{tuple(z1.shape)} and {tuple(z2.shape)}."
        )
    if cosine:
        z1 = ops.normalize(z1, axis=-1)
        z2 = ops.normalize(z2, axis=-1)
    scores = ops.matmul(z1, ops.transpose(z2))
    return scores / ops.cast(temperature, scores.dtype)


class ContrastiveLoss(keras.losses.Loss):
    """Base class of the package's losses on score matrices or pairs.

    `y_true` is ignored (pass anything, or nothing through `fit(x)`);
    `y_pred` is a score matrix `[N, M]`, two stacked embeddings `[N, 2, d]`
    or a tuple `(z1, z2)` (see `split_prediction`). Embedding pairs are
    scored with the inner-product critic `z1 z2^T / temperature` (cosine
    similarity with `cosine=True`); score matrices are divided by the
    temperature. Subclasses implement `loss_from_scores(scores)` and may
    override `loss_from_pair(z1, z2)` with a fused form.

    The loss is a batch-level quantity (a mean over all pairs), so
    per-example `sample_weight` is refused; under `tf.distribute` it is
    divided by the number of replicas, as Keras does for
    `"sum_over_batch_size"`.

    Args:
        temperature: positive divisor of the scores.
        cosine: L2-normalise embedding pairs first (pairs only).
        name, reduction, dtype: as in `keras.losses.Loss`; any reduction but
            `None`/`"none"` scales for replicas.
    """

    def __init__(
        self,
        temperature=1.0,
        cosine=False,
        name=None,
        reduction="sum_over_batch_size",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.temperature = check_positive("temperature", temperature)
        self.cosine = bool(cosine)

    def loss_from_scores(self, scores):
        raise NotImplementedError

    def loss_from_pair(self, z1, z2):
        scores = pair_scores(z1, z2, self.temperature, self.cosine)
        return self.loss_from_scores(scores)

    def scores(self, y_pred):
        """The tempered score matrix of a prediction."""
        kind, value = split_prediction(y_pred)
        if kind == "pair":
            return pair_scores(*value, self.temperature, self.cosine)
        self._check_scores_form()
        return value / ops.cast(self.temperature, value.dtype)

    def _check_scores_form(self):
        if self.cosine:
            raise ValueError(
                "`cosine=True` normalises embedding pairs; this `y_pred` is "
                "already a score matrix. Normalise inside the critic "
                "(InnerProduct(cosine=True)) instead."
            )

    def call(self, y_true, y_pred):
        del y_true
        kind, value = split_prediction(y_pred)
        if kind == "pair":
            return self.loss_from_pair(*value)
        self._check_scores_form()
        return self.loss_from_scores(
            value / ops.cast(self.temperature, value.dtype)
        )

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(
                f"{type(self).__name__} is a batch-level loss and takes no "
                "per-example `sample_weight`; received one."
            )
        with keras.name_scope(self.name):
            loss = ops.cast(self.call(y_true, y_pred), self.dtype)
            if self.reduction not in (None, "none"):
                loss = scale_for_replicas(loss)
            return loss

    def get_config(self):
        config = super().get_config()
        config.update(temperature=self.temperature, cosine=self.cosine)
        return config


class MutualInformationLoss(ContrastiveLoss):
    """`loss = -bound(scores)`, or `|bound - target|` in target mode.

    Subclasses implement `bound(scores)` (nats) and may override
    `bound_from_pair(z1, z2)`.

    Args:
        target: if set, train `|I_est - target|` (Tschannen et al.'s
            matched-bound experiment) instead of maximising the bound.
        **kwargs: see `ContrastiveLoss`.
    """

    def __init__(self, target=None, **kwargs):
        super().__init__(**kwargs)
        if target is not None:
            check_positive("target", target, allow_zero=True)
        self.target = target

    def bound(self, scores):
        raise NotImplementedError

    def bound_from_pair(self, z1, z2):
        return self.bound(pair_scores(z1, z2, self.temperature, self.cosine))

    def estimate(self, y_pred):
        """The bound in nats for a prediction (no sign, no target)."""
        kind, value = split_prediction(y_pred)
        if kind == "pair":
            return self.bound_from_pair(*value)
        return self.bound(self.scores(value))

    def _to_loss(self, value):
        if self.target is None:
            return -value
        return ops.abs(value - self.target)

    def loss_from_scores(self, scores):
        return self._to_loss(self.bound(scores))

    def loss_from_pair(self, z1, z2):
        return self._to_loss(self.bound_from_pair(z1, z2))

    def get_config(self):
        return {**super().get_config(), "target": self.target}
