import os

import keras
import numpy as np
import pytest

from keras_infomin import losses
from keras_infomin import metrics
from keras_infomin import models
from tests.bounds import numpy_reference as ref
from tests.models.toy import shared_signal_views


def _towers(seed=0):
    keras.utils.set_random_seed(seed)
    a_in, b_in = keras.Input((16,)), keras.Input((16,))
    za = keras.layers.Dense(8, name="f")(a_in)
    zb = keras.layers.Dense(8, name="g")(b_in)
    return [a_in, b_in], za, zb


def _compile(model):
    model.compile(
        optimizer=keras.optimizers.Adam(3e-3),
        loss=losses.InfoNCE(temperature=0.5, cosine=True),
        metrics=[metrics.MutualInformation("nwj", temperature=0.5)],
    )
    return model


def test_a_list_output_trains_like_the_stacked_output():
    v1, v2, _ = shared_signal_views(n=128)
    inputs, za, zb = _towers()
    pair = _compile(models.PairModel(inputs, [za, zb]))
    inputs, za, zb = _towers()
    stacked = _compile(keras.Model(inputs, keras.ops.stack([za, zb], 1)))
    histories = [
        m.fit([v1, v2], batch_size=32, epochs=5, shuffle=False, verbose=0)
        for m in (pair, stacked)
    ]
    for key in ("loss", "mi_nwj"):
        np.testing.assert_allclose(
            histories[0].history[key], histories[1].history[key], atol=1e-5
        )
    loss = histories[0].history["loss"]
    assert loss[-1] < loss[0] - 0.1, loss
    for a, b in zip(pair.get_weights(), stacked.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    # The metric read the pair: NWJ of z1 z2^T / 0.5, batch by batch.
    z1, z2 = (np.asarray(z) for z in pair.predict([v1, v2], verbose=0))
    expected = np.mean(
        [
            ref.nwj(z1[i : i + 32] @ z2[i : i + 32].T / 0.5)
            for i in range(0, 128, 32)
        ]
    )
    logs = pair.evaluate([v1, v2], batch_size=32, verbose=0, return_dict=True)
    assert logs["mi_nwj"] == pytest.approx(expected, rel=1e-4, abs=1e-4)


def test_save_load_keeps_the_loss_and_metrics(tmp_path):
    v1, v2, _ = shared_signal_views(n=64)
    inputs, za, zb = _towers()
    model = _compile(models.PairModel(inputs, [za, zb]))
    model.fit([v1, v2], batch_size=32, epochs=1, verbose=0)
    path = os.path.join(tmp_path, "pair.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, models.PairModel)
    expected = model.evaluate(
        [v1, v2], batch_size=64, verbose=0, return_dict=True
    )
    got = loaded.evaluate([v1, v2], batch_size=64, verbose=0, return_dict=True)
    for key in ("loss", "mi_nwj"):
        assert got[key] == pytest.approx(expected[key], abs=1e-5)


def test_per_output_arguments_are_refused():
    inputs, za, zb = _towers()
    model = models.PairModel(inputs, [za, zb])
    with pytest.raises(ValueError, match="loss_weights"):
        model.compile(loss=losses.InfoNCE(), loss_weights=[1.0, 1.0])
