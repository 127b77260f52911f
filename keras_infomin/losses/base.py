"""The Keras losses' shared part: an `Objective`, conversion and scaling."""

import keras
from keras import ops

from keras_infomin import distribute
from keras_infomin.losses.objective import Objective


class ContrastiveLoss(keras.losses.Loss):
    """Base class of the package's losses on score matrices or pairs.

    `y_true` is ignored (pass anything, or nothing through `fit(x)`);
    `y_pred` is a score matrix `[N, M]`, two stacked embeddings `[N, 2, d]`
    or a tuple `(z1, z2)` (see `split_prediction`). Embedding pairs are
    scored with the inner product `z1 z2^T / temperature` (cosine
    similarity with `cosine=True`) and, under `tf.distribute`, against the
    embeddings of every replica (`gather=True`): two replicas then train as
    one replica on the global batch. Score matrices are divided by the
    temperature. `self.objective` (an `Objective`) does the reading.

    The loss is a batch-level quantity (a mean over all pairs), so
    per-example `sample_weight` is refused; under `tf.distribute` it is
    divided by the number of replicas, as Keras does for
    `"sum_over_batch_size"`. A batch without negatives (one row) gives 0.

    Args:
        temperature: positive divisor of the scores.
        cosine: L2-normalise embedding pairs first (pairs only).
        gather: score embedding pairs against every replica's rows.
        name, reduction, dtype: as in `keras.losses.Loss`; any reduction but
            `None`/`"none"` scales for replicas.
    """

    def __init__(
        self,
        temperature=1.0,
        cosine=False,
        gather=True,
        name=None,
        reduction="sum_over_batch_size",
        dtype=None,
        **objective_kwargs,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.objective = Objective(
            temperature=temperature,
            cosine=cosine,
            gather=gather,
            **objective_kwargs,
        )

    def __getattr__(self, name):
        # `temperature`, `cosine`, `symmetric`, `target`, `bound`, ...
        if name.startswith("_") or "objective" not in vars(self):
            raise AttributeError(name)
        return getattr(self.objective, name)

    def call(self, y_true, y_pred):
        raise NotImplementedError

    def __call__(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            raise ValueError(
                f"{type(self).__name__} is a batch-level loss and takes no "
                "per-example `sample_weight`; received one."
            )
        with keras.name_scope(self.name):
            loss = ops.cast(self.call(y_true, y_pred), self.dtype)
            if self.reduction not in (None, "none"):
                loss = distribute.scale_loss(loss)
            return loss

    def get_config(self):
        config = super().get_config()
        config.update(
            temperature=self.temperature,
            cosine=self.cosine,
            gather=self.objective.gather,
        )
        return config


class MutualInformationLoss(ContrastiveLoss):
    """`loss = -bound`, or `|bound - target|` in target mode.

    Args:
        bound: the name of a bound in `keras_infomin.bounds`.
        bound_kwargs: the bound's other arguments.
        target: if set, train `|I_est - target|` (Tschannen et al.'s
            matched-bound experiment) instead of maximising the bound.
        symmetric: average the bound over both directions (square scores).
        **kwargs: see `ContrastiveLoss`.
    """

    def __init__(
        self,
        bound,
        bound_kwargs=None,
        target=None,
        symmetric=False,
        **kwargs,
    ):
        super().__init__(
            bound=bound,
            bound_kwargs=bound_kwargs,
            target=target,
            symmetric=symmetric,
            **kwargs,
        )

    def call(self, y_true, y_pred):
        del y_true
        return self.objective.loss(self.objective.estimate(y_pred))

    def get_config(self):
        return {
            **super().get_config(),
            "target": self.target,
            "symmetric": self.symmetric,
        }
