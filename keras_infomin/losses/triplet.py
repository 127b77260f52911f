"""Hinge triplet loss on a score matrix (the metric-learning reading)."""

import math

from keras import ops

from keras_infomin.bounds.common import diagonal_mask
from keras_infomin.losses.base import ContrastiveLoss
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_positive


@register
class Triplet(ContrastiveLoss):
    """Hinge triplet loss on the same scores InfoNCE reads.

    For anchor `x_i`, positive `y_i` and negatives `y_j`, `j != i`:

        mining="all":      mean_i mean_{j != i} max(0, m - S_ii + S_ij)
        mining="hardest":  mean_i max(0, m - S_ii + max_{j != i} S_ij)

    Tschannen et al. (2020, Sec. 5) read InfoNCE with a separable critic as
    the multi-class N-pair metric-learning loss and show this hinge loss
    learns comparable representations: what matters is the metric-learning
    structure, not the MI bound.

    Pairs of embeddings are gathered from every replica under
    `tf.distribute` (see `ContrastiveLoss`), so the anchors meet the
    negatives of the global batch.

    Args:
        margin: positive margin `m`.
        mining: `"all"` negatives or the `"hardest"` one per anchor.
        **kwargs: see `ContrastiveLoss` (temperature, cosine, name, ...).
    """

    def __init__(self, margin=1.0, mining="all", **kwargs):
        super().__init__(**kwargs)
        self.margin = check_positive("margin", margin)
        if mining not in ("all", "hardest"):
            raise ValueError(
                f"`mining` must be 'all' or 'hardest'; received {mining!r}."
            )
        self.mining = mining

    def call(self, y_true, y_pred):
        del y_true
        scores = self.objective.scores(y_pred)
        positives = ops.expand_dims(ops.diagonal(scores), 1)
        mask = diagonal_mask(scores)
        if self.mining == "hardest":
            negatives = ops.where(mask, -math.inf, scores)
            hardest = ops.max(negatives, axis=1, keepdims=True)
            hinge = ops.relu(self.margin - positives + hardest)
            # A row without negatives has hardest = -inf: no hinge term.
            return ops.mean(ops.where(ops.isfinite(hardest), hinge, 0.0))
        hinge = ops.relu(self.margin - positives + scores)
        hinge = ops.where(mask, 0.0, hinge)
        count = ops.cast(ops.size(scores), scores.dtype) - ops.cast(
            ops.shape(scores)[0], scores.dtype
        )
        # A batch without negatives (one row) has no hinge term: 0.
        return ops.sum(hinge) / ops.maximum(count, 1.0)

    def get_config(self):
        return {
            **super().get_config(),
            "margin": self.margin,
            "mining": self.mining,
        }
