import keras
import numpy as np
import pytest

from keras_infomin.optimizers import WarmupCosine
from keras_infomin.testing import assert_config_round_trip


def closed_form(t, peak, total, warmup, final):
    if t < warmup:
        return peak * t / warmup
    if t >= total:
        return final
    return (
        final
        + (peak - final)
        * (1 + np.cos(np.pi * (t - warmup) / (total - warmup)))
        / 2
    )


@pytest.mark.parametrize(
    "peak, total, warmup, final",
    [(0.3, 100, 10, 0.0), (1.0, 50, 0, 0.01), (4.8, 1000, 999, 1e-3)],
)
def test_matches_closed_form(peak, total, warmup, final):
    schedule = WarmupCosine(peak, total, warmup, final)
    steps = sorted(
        {
            0,
            1,
            warmup,
            max(warmup - 1, 0),
            warmup + 1,
            total - 1,
            total,
            total + 5,
            *range(0, total + 10, 7),
        }
    )
    for t in steps:
        np.testing.assert_allclose(
            float(schedule(t)),
            closed_form(t, peak, total, warmup, final),
            rtol=1e-5,
            atol=1e-7,
        )


def test_serialization_and_use_in_optimizer():
    schedule = WarmupCosine(0.2, 40, 4, 0.01)
    rebuilt = assert_config_round_trip(schedule)
    assert float(rebuilt(13)) == pytest.approx(float(schedule(13)))
    optimizer = keras.optimizers.SGD(learning_rate=schedule)
    variable = keras.Variable(np.zeros(2, "float32"))
    for _ in range(7):
        optimizer.apply([np.ones(2, "float32")], [variable])
    assert float(optimizer.learning_rate) == pytest.approx(
        closed_form(7, 0.2, 40, 4, 0.01), rel=1e-5
    )
    again = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert isinstance(again.learning_rate, WarmupCosine) or isinstance(
        again._learning_rate, WarmupCosine
    )


def test_argument_errors():
    with pytest.raises(ValueError, match="warmup_steps"):
        WarmupCosine(0.1, total_steps=10, warmup_steps=10)
    with pytest.raises(ValueError, match="peak_learning_rate"):
        WarmupCosine(0.0, total_steps=10)
    with pytest.raises(ValueError, match="total_steps"):
        WarmupCosine(0.1, total_steps=0)
