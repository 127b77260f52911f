import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin import encoders
from keras_infomin import models
from keras_infomin import views
from tests.models import toy
from tests.models.toy import r_squared
from tests.models.toy import shared_signal_views


def _model(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    defaults = dict(
        encoder=encoders.MLP((32,), output_dim=8),
        projector=models.ProjectionHead((16,), 8),
    )
    defaults.update(kwargs)
    model = models.ContrastiveModel(**defaults)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    return model


def test_loss_falls_and_representation_keeps_the_shared_signal():
    v1, v2, s = shared_signal_views()
    model = _model()
    features = model.predict(v1, verbose=0)
    before, noise_before = (
        r_squared(features, s),
        r_squared(features, v1[:, 4:]),
    )
    history = model.fit((v1, v2), batch_size=64, epochs=8, verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < loss[0] - 0.5
    assert history.history["mi"][-1] == pytest.approx(-loss[-1], abs=1e-5)
    assert history.history["mi_cap"][-1] == pytest.approx(np.log(64))
    features = model.predict(v1, verbose=0)
    after, noise_after = r_squared(features, s), r_squared(features, v1[:, 4:])
    # The representation gains the shared signal and loses view-1 noise.
    assert after > before + 0.2, (before, after)
    assert noise_after < noise_before, (noise_before, noise_after)


@pytest.mark.parametrize("symmetric", [False, True])
def test_fused_infonce_equals_critic_plus_bound(symmetric):
    rng = np.random.default_rng(1)
    za = tf.constant(rng.normal(size=(6, 4)), tf.float32)
    zb = tf.constant(rng.normal(size=(6, 4)), tf.float32)
    critic = critics.InnerProduct(cosine=True, temperature=0.3)
    model = _model(critic=critic, symmetric=symmetric)
    fused = float(model.pair_bound(za, zb))
    scores = critic(za, zb)
    expected = bounds.infonce(scores)
    if symmetric:
        expected = 0.5 * (expected + bounds.infonce(tf.transpose(scores)))
    assert fused == pytest.approx(float(expected), abs=1e-5)


def test_general_critic_and_bound_with_reverse_direction():
    rng = np.random.default_rng(2)
    za = tf.constant(rng.normal(size=(5, 3)), tf.float32)
    zb = tf.constant(rng.normal(size=(5, 3)), tf.float32)
    critic = critics.Bilinear()
    model = _model(critic=critic, bound="smile", bound_kwargs={"tau": 2.0})
    scores = critic(za, zb)
    expected = 0.5 * (
        bounds.smile(scores, 2.0) + bounds.smile(tf.transpose(scores), 2.0)
    )
    assert float(model.pair_bound(za, zb)) == pytest.approx(
        float(expected), abs=1e-5
    )


def test_multiview_pairings():
    core = _model(num_views=4)
    full = _model(num_views=4, multiview="full")
    assert core.view_pairs() == [(0, 1), (0, 2), (0, 3)]
    assert len(full.view_pairs()) == 6


def test_per_view_encoders_concatenate_and_three_views_train():
    v1, v2, _ = shared_signal_views(n=128)
    v3 = v2[:, ::-1].copy()
    model = _model(
        encoder=[encoders.MLP((8,), output_dim=4) for _ in range(3)],
        projector=None,
        num_views=3,
        multiview="full",
    )
    history = model.fit((v1, v2, v3), batch_size=32, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.predict((v1, v2, v3), verbose=0).shape == (128, 12)


def test_target_mode_trains_towards_the_target():
    v1, v2, _ = shared_signal_views()
    model = _model(target=1.0)
    history = model.fit((v1, v2), batch_size=64, epochs=10, verbose=0)
    assert history.history["mi"][-1] == pytest.approx(1.0, abs=0.3)
    assert history.history["loss"][-1] < 0.3


def test_view_layer_inside_the_step_and_image_encoder():
    images = np.random.default_rng(3).random((64, 12, 12, 3)).astype("float32")
    model = _model(
        encoder=encoders.ConvNet(filters=(8, 8), output_dim=8),
        view_layer=views.Views(views.SimCLRAugment(12), num_views=2),
    )
    history = model.fit(images, batch_size=32, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert model.predict(images[:4], verbose=0).shape == (4, 8)


def test_save_load_then_resume_identically(tmp_path):
    v1, v2, _ = shared_signal_views(n=128)
    model = _model()
    model.fit((v1, v2), batch_size=32, epochs=1, shuffle=False, verbose=0)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    np.testing.assert_allclose(
        loaded.predict(v1, verbose=0), model.predict(v1, verbose=0), atol=1e-6
    )
    for m in (model, loaded):
        m.fit((v1, v2), batch_size=32, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_backup_and_restore_resumes_identically(tmp_path):
    v1, v2, _ = shared_signal_views(n=96)

    def fit(model, callbacks=()):
        model.fit(
            (v1, v2),
            batch_size=32,
            epochs=4,
            shuffle=False,
            verbose=0,
            callbacks=list(callbacks),
        )

    reference = _model()
    fit(reference)

    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    interrupted = _model()
    interrupted(v1[:1])  # BackupAndRestore needs a built model
    with pytest.raises(RuntimeError, match="interrupted"):
        fit(interrupted, [backup, toy.Interrupt()])
    assert int(interrupted.optimizer.iterations.numpy()) == 6

    # Another initialisation: only a real restore reaches the reference.
    resumed = _model(seed=1)
    resumed(v1[:1])
    assert not np.allclose(
        resumed.get_weights()[0], interrupted.get_weights()[0]
    )
    epochs = toy.EpochRecorder()
    fit(resumed, [backup, epochs])
    assert epochs.seen == [2, 3]  # only the remaining epochs ran
    assert int(resumed.optimizer.iterations.numpy()) == 12
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    for a, b in zip(resumed.optimizer.variables, reference.optimizer.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_bad_inputs():
    v1, v2, _ = shared_signal_views(n=64)
    model = _model()
    mismatched = tf.data.Dataset.from_tensors(((v1, v2[:32]),))
    with pytest.raises(ValueError, match="same examples"):
        model.fit(mismatched, verbose=0)
    with pytest.raises(ValueError, match="view_layer"):
        _model().fit(v1, batch_size=16, verbose=0)
    with pytest.raises(ValueError, match="num_views"):
        models.ContrastiveModel(encoders.MLP((4,)), num_views=1)
    with pytest.raises(ValueError, match="one layer per view"):
        models.ContrastiveModel([encoders.MLP((4,))] * 3, num_views=2)
    with pytest.raises(ValueError, match="Unknown bound"):
        models.ContrastiveModel(encoders.MLP((4,)), bound="cpc")
