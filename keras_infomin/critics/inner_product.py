"""Inner-product and cosine critics (SimCLR, CLIP, MoCo)."""

import math

import keras
from keras import ops

from keras_infomin.critics.base import Critic
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_positive


@register
class InnerProduct(Critic):
    """`f(x, y) = <x, y> / temperature`, optionally on unit vectors.

    With `cosine=True` the embeddings are L2-normalised first, so scores are
    cosine similarities divided by the temperature (SimCLR's NT-Xent at
    `temperature=0.1..0.5`, MoCo's `0.07..0.2`, InfoMin's `0.15`). With
    `learn_temperature=True` the log inverse temperature is a trainable
    weight (CLIP), clipped to at most `log(max_inverse_temperature)`.

    Args:
        cosine: normalise `x` and `y` to unit length.
        temperature: positive initial (or fixed) temperature.
        learn_temperature: make the temperature trainable.
        max_inverse_temperature: upper clip of `1 / temperature` when learned.

    Example:

    >>> import numpy as np
    >>> critic = InnerProduct(cosine=True, temperature=0.5)
    >>> critic(np.eye(3, dtype="float32"), np.eye(3, dtype="float32")).shape
    TensorShape([3, 3])
    """

    def __init__(
        self,
        cosine=False,
        temperature=1.0,
        learn_temperature=False,
        max_inverse_temperature=100.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.cosine = bool(cosine)
        self.temperature = check_positive("temperature", temperature)
        self.learn_temperature = bool(learn_temperature)
        self.max_inverse_temperature = check_positive(
            "max_inverse_temperature", max_inverse_temperature
        )

    def build(self, x_shape, y_shape):
        if x_shape[-1] is not None and y_shape[-1] is not None:
            if x_shape[-1] != y_shape[-1]:
                raise ValueError(
                    "InnerProduct needs embeddings of the same size; received "
                    f"x {tuple(x_shape)} and y {tuple(y_shape)}."
                )
        if self.learn_temperature:
            self.log_inverse_temperature = self.add_weight(
                shape=(),
                initializer=keras.initializers.Constant(
                    -math.log(self.temperature)
                ),
                name="log_inverse_temperature",
            )

    def inverse_temperature(self):
        if not self.learn_temperature:
            return 1.0 / self.temperature
        limit = math.log(self.max_inverse_temperature)
        return ops.exp(ops.minimum(self.log_inverse_temperature, limit))

    def score(self, x, y):
        if self.cosine:
            x = ops.normalize(x, axis=-1)
            y = ops.normalize(y, axis=-1)
        scores = ops.matmul(x, ops.transpose(y))
        return scores * ops.cast(self.inverse_temperature(), scores.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(
            cosine=self.cosine,
            temperature=self.temperature,
            learn_temperature=self.learn_temperature,
            max_inverse_temperature=self.max_inverse_temperature,
        )
        return config
