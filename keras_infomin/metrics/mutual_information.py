"""A metric that reports an MI bound in nats (or bits) over an epoch."""

import keras
from keras import ops

from keras_infomin import bounds
from keras_infomin.losses.base import pair_scores
from keras_infomin.losses.base import split_prediction
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_positive


@register
class MutualInformation(keras.metrics.Mean):
    """Running mean of an MI bound over batches, in nats (or bits).

    Reads the same predictions as the package's losses: a score matrix
    `[N, M]`, two stacked embeddings `[N, 2, d]` or a pair `(z1, z2)`
    (inner-product scores over `temperature`, cosine with `cosine=True`).
    `y_true` is ignored. Reported beside a loss it shows the bound in
    information units, with the cap `log M` of InfoNCE in mind.

    Args:
        bound: name of a bound in `keras_infomin.bounds` ("infonce", "nwj",
            "tuba", "dv", "js", "smile", "interpolated").
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
        bounds.get(bound)
        if not isinstance(bound, str):
            raise ValueError(
                "`bound` must be the name of a bound so the metric can be "
                f"saved; received {bound!r}."
            )
        super().__init__(name=name or f"mi_{bound}", dtype=dtype)
        self.bound = bound
        self.temperature = check_positive("temperature", temperature)
        self.cosine = bool(cosine)
        self.bits = bool(bits)

    def update_state(self, y_true, y_pred, sample_weight=None):
        del y_true
        if sample_weight is not None:
            raise ValueError(
                "MutualInformation is a batch-level estimate and takes no "
                "per-example `sample_weight`; received one."
            )
        kind, value = split_prediction(y_pred)
        if kind == "pair":
            scores = pair_scores(*value, self.temperature, self.cosine)
        else:
            scores = value / ops.cast(self.temperature, value.dtype)
        estimate = bounds.get(self.bound)(scores)
        if self.bits:
            estimate = bounds.to_bits(estimate)
        return super().update_state(estimate)

    def get_config(self):
        config = super().get_config()
        config.update(
            bound=self.bound,
            temperature=self.temperature,
            cosine=self.cosine,
            bits=self.bits,
        )
        return config
