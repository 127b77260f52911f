"""A metric that reports an MI bound in nats (or bits) over an epoch."""

import keras

from keras_infomin import bounds
from keras_infomin.losses.objective import Objective
from keras_infomin.utils import register


@register
class MutualInformation(keras.metrics.Mean):
    """Running mean of an MI bound over batches, in nats (or bits).

    Reads the same predictions as the package's losses, through the same
    `losses.Objective`: a score matrix `[N, M]`, two stacked embeddings
    `[N, 2, d]` or a pair `(z1, z2)` (inner-product scores over
    `temperature`, cosine with `cosine=True`, negatives gathered from every
    replica under `tf.distribute`). `y_true` is ignored. Batches too small
    for the bound (no negatives) are left out of the mean. Reported beside
    a loss it shows the bound in information units, with the cap `log M`
    of InfoNCE in mind. Compiled into a trainer of `keras_infomin.models`
    it reads the trainer's score rows.

    Args:
        bound: name of a bound in `keras_infomin.bounds` ("infonce", "nwj",
            "tuba", "dv", "mine", "js", "smile", "interpolated"; MINE reads
            the DV value).
        temperature: positive divisor of the scores.
        cosine: L2-normalise embedding pairs first.
        bits: report bits instead of nats.
        name, dtype: as in `keras.metrics.Metric`.

    Example:

    ```python
    model.compile(
        optimizer="adam",
        loss=keras_infomin.losses.NWJ(),
        metrics=[keras_infomin.metrics.MutualInformation("infonce")],
    )
    ```
    """

    def __init__(
        self,
        bound="infonce",
        temperature=1.0,
        cosine=False,
        bits=False,
        name=None,
        dtype=None,
    ):
        super().__init__(name=name or f"mi_{bound}", dtype=dtype)
        self.objective = Objective(
            "dv" if bound == "mine" else bound,
            temperature=temperature,
            cosine=cosine,
        )
        self.bound = bound
        self.bits = bool(bits)

    def update_state(self, y_true, y_pred, sample_weight=None):
        del y_true
        if sample_weight is not None:
            raise ValueError(
                "MutualInformation is a batch-level estimate and takes no "
                "per-example `sample_weight`; received one."
            )
        estimate = self.objective.estimate(y_pred)
        value = estimate.value
        if self.bits:
            value = bounds.to_bits(value)
        return super().update_state(value, sample_weight=estimate.weight)

    def get_config(self):
        config = super().get_config()
        config.update(
            bound=self.bound,
            temperature=self.objective.temperature,
            cosine=self.objective.cosine,
            bits=self.bits,
        )
        return config
