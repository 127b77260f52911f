import math

import keras
import numpy as np
import pytest

from keras_infomin import critics
from keras_infomin import data
from keras_infomin import losses
from keras_infomin import metrics
from keras_infomin.testing import assert_config_round_trip
from tests.bounds import numpy_reference as ref


def test_running_mean_of_the_bound_over_batches():
    rng = np.random.default_rng(0)
    batches = [rng.normal(size=(5, 5)) for _ in range(3)]
    metric = metrics.MutualInformation("nwj")
    for s in batches:
        metric.update_state(None, s.astype("float32"))
    expected = np.mean([ref.nwj(s) for s in batches])
    assert float(metric.result()) == pytest.approx(expected, abs=1e-5)
    metric.reset_state()
    assert float(metric.result()) == 0.0


def test_bits_and_pairs():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(6, 2, 3)).astype("float32")
    metric = metrics.MutualInformation("infonce", temperature=0.5, bits=True)
    metric.update_state(None, z)
    expected = ref.infonce(z[:, 0] @ z[:, 1].T / 0.5) / math.log(2)
    assert float(metric.result()) == pytest.approx(expected, abs=1e-4)


def test_reported_in_history_during_fit():
    x, y, _ = data.correlated_gaussians(256, dim=4, mi=2.0, seed=0)
    xi, yi = keras.Input((4,)), keras.Input((4,))
    model = keras.Model([xi, yi], critics.Bilinear()(xi, yi))
    model.compile(
        optimizer="adam",
        loss=losses.NWJ(),
        metrics=[metrics.MutualInformation("infonce")],
    )
    history = model.fit([x, y], batch_size=64, epochs=2, verbose=0)
    values = history.history["mi_infonce"]
    assert len(values) == 2
    assert all(v <= math.log(64) + 1e-6 for v in values)


def test_config_round_trip_and_errors():
    metric = metrics.MutualInformation("smile", temperature=0.2, bits=True)
    rebuilt = assert_config_round_trip(metric)
    assert rebuilt.bound == "smile" and rebuilt.bits
    with pytest.raises(ValueError, match="Unknown bound"):
        metrics.MutualInformation("cpc")
    with pytest.raises(ValueError, match="sample_weight"):
        metric.update_state(None, np.eye(3, dtype="float32"), np.ones(3))


def _find_metric(metric, cls):
    """The `cls` instance among a model's metrics (compiled ones included)."""
    if isinstance(metric, cls):
        return metric
    for inner in getattr(metric, "metrics", None) or []:
        found = _find_metric(inner, cls)
        if found is not None:
            return found
    return None


def test_keras_file_round_trip_in_a_compiled_model(tmp_path):
    n, temperature = 64, 0.5
    x, y, _ = data.correlated_gaussians(n, dim=3, mi=1.0, seed=2)
    xi, yi = keras.Input((3,)), keras.Input((3,))
    model = keras.Model([xi, yi], critics.Bilinear()(xi, yi))
    metric = metrics.MutualInformation(
        "smile", temperature=temperature, bits=True, name="mi_smile_bits"
    )
    model.compile(optimizer="adam", loss=losses.NWJ(), metrics=[metric])
    model.fit([x, y], batch_size=32, epochs=1, verbose=0)
    expected = model.evaluate([x, y], batch_size=n, verbose=0, return_dict=True)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    got = loaded.evaluate([x, y], batch_size=n, verbose=0, return_dict=True)
    assert got["mi_smile_bits"] == pytest.approx(
        expected["mi_smile_bits"], abs=1e-6
    )
    restored = _find_metric(loaded, metrics.MutualInformation)
    assert restored is not None and restored is not metric
    assert restored.get_config() == metric.get_config()
    # One batch: the value is the bound on the loaded critic's scores.
    scores = loaded.predict([x, y], batch_size=n, verbose=0)
    reference = ref.smile(scores / temperature, 5.0) / math.log(2)
    assert float(restored.result()) == pytest.approx(reference, abs=1e-4)
