import os

import keras
import numpy as np
import pytest

from keras_infomin import encoders
from keras_infomin import models
from keras_infomin import views
from tests.models import toy
from tests.models.toy import shared_signal_views


def _moco(queue_size=128, momentum=0.9, seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    defaults = dict(
        encoder=encoders.MLP((32,), output_dim=8),
        projector=models.ProjectionHead((16,), 8),
        queue_size=queue_size,
        momentum=momentum,
        temperature=0.2,
    )
    defaults.update(kwargs)
    model = models.MomentumContrast(**defaults)
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    return model


def _weights(layers):
    return [w.numpy().copy() for layer in layers for w in layer.weights]


def test_loss_falls_on_views_sharing_a_signal():
    v1, v2, _ = shared_signal_views()
    model = _moco(symmetric=True)
    history = model.fit((v1, v2), batch_size=64, epochs=6, verbose=0)
    loss = history.history["loss"]
    assert loss[-1] < loss[0] - 0.3, loss
    assert history.history["mi_cap"][0] == pytest.approx(np.log(129))


def test_first_step_copies_then_momentum_follows_the_query():
    v1, v2, _ = shared_signal_views(n=32)
    model = _moco(momentum=0.75)
    model.train_on_batch((v1, v2))
    # Step 1 started from an exact copy of the query layers.
    query_before = _weights(model._query_layers())
    key_before = _weights(model._key_layers())
    model.train_on_batch((v1, v2))
    key_after = _weights(model._key_layers())
    for k0, q0, k1 in zip(key_before, query_before, key_after):
        np.testing.assert_allclose(k1, 0.75 * k0 + 0.25 * q0, atol=1e-6)


def test_queue_holds_the_latest_normalised_keys():
    v1, v2, _ = shared_signal_views(n=48)
    model = _moco(queue_size=100)
    model.train_on_batch((v1[:16], v2[:16]))
    model.train_on_batch((v1[16:], v2[16:]))
    assert int(model.queue_pointer.numpy()) == 48
    keys = model.key_embed(v2[16:], training=True).numpy()
    keys /= np.linalg.norm(keys, axis=1, keepdims=True)
    np.testing.assert_allclose(model.queue.numpy()[16:48], keys, atol=1e-5)
    # Wrap-around: 48 + 64 > 100 writes slots 48..99 then 0..11.
    big = np.concatenate([v2, v2[:16]])
    model.train_on_batch((np.concatenate([v1, v1[:16]]), big))
    assert int(model.queue_pointer.numpy()) == (48 + 64) % 100


def test_save_load_restores_queue_optimizer_and_resumes(tmp_path):
    v1, v2, _ = shared_signal_views(n=128)
    model = _moco()
    model.fit((v1, v2), batch_size=32, epochs=1, shuffle=False, verbose=0)
    path = os.path.join(tmp_path, "moco.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(loaded.queue.numpy(), model.queue.numpy())
    assert int(loaded.queue_pointer.numpy()) == int(model.queue_pointer.numpy())
    assert len(loaded.optimizer.variables) == len(model.optimizer.variables)
    for m in (model, loaded):
        m.fit((v1, v2), batch_size=32, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(
        loaded.queue.numpy(), model.queue.numpy(), atol=1e-5
    )
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def _fit_four_epochs(model, v1, v2, callbacks=()):
    model.fit(
        (v1, v2),
        batch_size=32,
        epochs=4,
        shuffle=False,
        verbose=0,
        callbacks=list(callbacks),
    )


def test_backup_and_restore_resumes_with_the_same_queue(tmp_path):
    v1, v2, _ = shared_signal_views(n=96)
    reference = _moco()
    _fit_four_epochs(reference, v1, v2)

    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    model = _moco()
    model(v1[:1])  # BackupAndRestore needs a built model
    with pytest.raises(RuntimeError, match="interrupted"):
        _fit_four_epochs(model, v1, v2, [backup, toy.Interrupt()])
    assert int(model.optimizer.iterations.numpy()) == 6

    # Start the resumed run from a different state than the interrupted
    # one: other weights, another queue and pointer, the key encoder
    # flagged as not yet copied from the query encoder.
    # Only a real restore can bring it back onto the reference's path.
    resumed = _moco(seed=1)
    resumed(v1[:1])
    rng = np.random.default_rng(5)
    noise = rng.normal(size=resumed.queue.shape).astype("float32")
    resumed.queue.assign(noise / np.linalg.norm(noise, axis=1, keepdims=True))
    resumed.queue_pointer.assign(37)
    resumed.keys_initialized.assign(False)
    assert not np.allclose(resumed.get_weights()[0], model.get_weights()[0])
    epochs = toy.EpochRecorder()
    _fit_four_epochs(resumed, v1, v2, [backup, epochs])
    assert epochs.seen == [2, 3]  # only the remaining epochs ran
    assert int(resumed.optimizer.iterations.numpy()) == 12
    assert int(resumed.queue_pointer.numpy()) == int(
        reference.queue_pointer.numpy()
    )
    np.testing.assert_allclose(
        resumed.queue.numpy(), reference.queue.numpy(), atol=1e-5
    )
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
    for a, b in zip(resumed.optimizer.variables, reference.optimizer.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


def test_jigsaw_branch_trains_beside_moco():
    images = np.random.default_rng(0).random((32, 18, 18, 3)).astype("float32")
    model = _moco(
        encoder=encoders.ConvNet(filters=(8, 8), output_dim=8),
        view_layer=views.Views(views.MoCoV2Augment(18), num_views=2),
        jigsaw=views.JigSaw(grid_size=3, tile_size=6),
        jigsaw_head=views.JigSawHead(output_dim=8),
        queue_size=64,
    )
    history = model.fit(images, batch_size=16, epochs=2, verbose=0)
    assert np.isfinite(history.history["mi_jigsaw"]).all()
    assert model.predict(images[:2], verbose=0).shape == (2, 8)


def test_bad_inputs():
    v1, v2, _ = shared_signal_views(n=64)
    with pytest.raises(ValueError, match="smaller than the global batch"):
        _moco(queue_size=16, symmetric=False).fit(
            (v1, v2), batch_size=32, verbose=0
        )
    # Symmetric steps enqueue both views' keys: 2 x 16 > 24.
    with pytest.raises(ValueError, match="twice the global batch"):
        _moco(queue_size=24, symmetric=True).fit(
            (v1, v2), batch_size=16, verbose=0
        )
    with pytest.raises(ValueError, match="momentum"):
        _moco(momentum=1.5)
    with pytest.raises(ValueError, match="momentum"):
        _moco(momentum=-0.1)
    with pytest.raises(ValueError, match="jigsaw_head"):
        _moco(jigsaw=views.JigSaw())
    with pytest.raises(ValueError, match="queue_size"):
        _moco(queue_size=0)
