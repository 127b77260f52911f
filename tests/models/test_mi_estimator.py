import os

import keras
import numpy as np
import pytest

from keras_infomin import critics
from keras_infomin import data
from keras_infomin import models


def _fit(bound, steps=150, mi=1.5, dim=5, seed=0, **kwargs):
    dataset, true_mi = data.gaussian_mi_dataset(
        (mi,), steps, batch_size=128, dim=dim, seed=seed
    )
    keras.utils.set_random_seed(seed)
    model = models.MIEstimator(
        critics.Separable((64,), 32), bound=bound, **kwargs
    )
    model.compile(optimizer=keras.optimizers.Adam(2e-3))
    recorder = models.EstimateRecorder()
    model.fit(dataset, callbacks=[recorder], shuffle=False, verbose=0)
    return model, np.array(recorder.estimates)


@pytest.mark.parametrize("bound", sorted(models.ESTIMATORS))
def test_every_estimator_learns_towards_the_true_mi(bound):
    kwargs = {"alpha": 0.1} if bound == "interpolated" else {}
    _, estimates = _fit(bound, bound_kwargs=kwargs)
    assert len(estimates) == 150
    assert np.all(np.isfinite(estimates))
    late = np.mean(estimates[-50:])
    assert np.mean(estimates[:10]) < late
    assert 0.8 < late < 2.2, late  # true MI 1.5 nats


def test_mine_state_is_carried_and_saved(tmp_path):
    model, _ = _fit("mine", steps=30)
    assert bool(model.mine_started.numpy())
    state = float(model.log_partition_average.numpy())
    path = os.path.join(tmp_path, "mine.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.bound == "mine"
    assert float(loaded.log_partition_average.numpy()) == pytest.approx(state)
    assert bool(loaded.mine_started.numpy())


def test_save_load_resumes_identically(tmp_path):
    x, y, _ = data.correlated_gaussians(256, dim=4, mi=1.0, seed=1)
    keras.utils.set_random_seed(1)
    model = models.MIEstimator(critics.Bilinear(), bound="smile")
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    path = os.path.join(tmp_path, "est.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(
        loaded.predict((x, y), 64), model.predict((x, y), 64)
    )
    model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    loaded.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_evaluate_reports_the_bound_and_cap():
    x, y, _ = data.correlated_gaussians(128, dim=4, mi=1.0, seed=2)
    model = models.MIEstimator(critics.Bilinear(), bound="infonce")
    model.compile(optimizer="adam")
    logs = model.evaluate(x, y, batch_size=64, verbose=0, return_dict=True)
    assert logs["mi"] == pytest.approx(-logs["loss"])


def test_bad_arguments_and_data():
    with pytest.raises(ValueError, match="Unknown bound"):
        models.MIEstimator(bound="cpc")
    with pytest.raises(ValueError, match="mine_momentum"):
        models.MIEstimator(bound="mine", mine_momentum=1.0)
    model = models.MIEstimator(critics.Bilinear())
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"joint samples \(x, y\)"):
        model.fit(np.ones((8, 3), "float32"), verbose=0)
