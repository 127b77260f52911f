"""Learning-rate schedules."""

import math

import keras
from keras import ops

from keras_infomin.utils import check_positive
from keras_infomin.utils import register


@register
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up followed by cosine decay.

    With peak rate `p`, final rate `f`, warm-up length `W` and total length
    `T`, the rate at (0-based) step `t` is

        lr(t) = p * t / W                                       t < W
        lr(t) = f + (p - f) * (1 + cos(pi * (t - W) / (T - W))) / 2
                                                                W <= t <= T
        lr(t) = f                                               t > T

    so it rises from 0 to `p` over the first `W` steps and reaches `f` at
    step `T`. `W = 0` starts directly with the cosine part.

    Args:
        peak_learning_rate: rate reached at the end of the warm-up.
        total_steps: steps of warm-up plus decay (`T > W`).
        warmup_steps: steps of linear warm-up (`W >= 0`).
        final_learning_rate: rate at and after step `T` (default 0).
        name: optional name.

    Returns:
        A schedule; called with a step it returns a float32 scalar.

    Example:

    >>> schedule = WarmupCosine(0.3, total_steps=1000, warmup_steps=100)
    >>> float(schedule(50)), float(schedule(100)), float(schedule(1000))
    (0.15, 0.3, 0.0)
    """

    def __init__(
        self,
        peak_learning_rate,
        total_steps,
        warmup_steps=0,
        final_learning_rate=0.0,
        name=None,
    ):
        check_positive("peak_learning_rate", peak_learning_rate)
        check_positive("total_steps", total_steps)
        check_positive("warmup_steps", warmup_steps, allow_zero=True)
        check_positive(
            "final_learning_rate", final_learning_rate, allow_zero=True
        )
        if warmup_steps >= total_steps:
            raise ValueError(
                "`warmup_steps` must be smaller than `total_steps`; received "
                f"warmup_steps={warmup_steps!r}, total_steps={total_steps!r}."
            )
        self.peak_learning_rate = float(peak_learning_rate)
        self.total_steps = int(total_steps)
        self.warmup_steps = int(warmup_steps)
        self.final_learning_rate = float(final_learning_rate)
        self.name = name

    def __call__(self, step):
        step = ops.cast(step, "float32")
        peak = self.peak_learning_rate
        final = self.final_learning_rate
        warmup = float(self.warmup_steps)
        decay = float(self.total_steps - self.warmup_steps)
        progress = ops.clip((step - warmup) / decay, 0.0, 1.0)
        cosine = final + (peak - final) * 0.5 * (
            1.0 + ops.cos(math.pi * progress)
        )
        if self.warmup_steps == 0:
            return cosine
        return ops.where(step < warmup, peak * step / warmup, cosine)

    def get_config(self):
        return {
            "peak_learning_rate": self.peak_learning_rate,
            "total_steps": self.total_steps,
            "warmup_steps": self.warmup_steps,
            "final_learning_rate": self.final_learning_rate,
            "name": self.name,
        }
