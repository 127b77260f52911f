import os

import keras
import numpy as np
import pytest

from keras_infomin import models
from keras_infomin import views


def toy_images(n, seed=0, size=4):
    """Colours sharing a label signal and a nuisance signal across views.

    Per image: label c in {0..3} (l = c / 3) and nuisance u ~ U(0, 1);
    channel 0 = (l + u) / 2 (view 1), channel 1 = l, channel 2 = u
    (view 2), plus small pixel noise. Raw views share both signals.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, n)
    level, nuisance = labels / 3.0, rng.random(n)
    colour = np.stack([(level + nuisance) / 2, level, nuisance], axis=1)
    images = colour[:, None, None, :] + 0.02 * rng.normal(
        size=(n, size, size, 3)
    )
    return images.astype("float32"), labels, nuisance


def _encoder(out=16):
    return keras.Sequential(
        [
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(out),
        ]
    )


def _generator():
    return views.FlowViewGenerator(
        num_couplings=4, hidden_units=(16,), coupling="additive"
    )


def _view1_signals(generator, images, labels, nuisance):
    """Label accuracy and nuisance R^2 of view 1's mean colour (linear)."""
    from sklearn.linear_model import LogisticRegression

    v1 = generator(images)[0].numpy().mean(axis=(1, 2))
    accuracy = (
        LogisticRegression(max_iter=2000).fit(v1, labels).score(v1, labels)
    )
    a = np.c_[v1, np.ones(len(v1))]
    coef = np.linalg.lstsq(a, nuisance, rcond=None)[0]
    r2 = 1 - np.var(nuisance - a @ coef) / np.var(nuisance)
    return accuracy, r2


def _fresh_mi(generator, train, test):
    keras.utils.set_random_seed(1)
    model = models.train_on_learned_views(
        generator,
        [_encoder(), _encoder()],
        train,
        epochs=12,
        batch_size=128,
        optimizer=keras.optimizers.Adam(3e-3),
    )
    return model.evaluate(test, batch_size=128, verbose=0, return_dict=True)[
        "mi"
    ]


def _game(labels=None, generator_lr=3e-3, **kwargs):
    keras.utils.set_random_seed(0)
    model = models.InfoMinModel(
        _generator(), [_encoder(), _encoder()], **kwargs
    )
    model.compile(
        encoder_optimizer=keras.optimizers.Adam(3e-3),
        generator_optimizer=keras.optimizers.Adam(generator_lr),
    )
    return model


def test_unsupervised_game_lowers_the_views_mutual_information():
    train, _, _ = toy_images(1024)
    test, _, _ = toy_images(512, seed=1)
    raw = _generator()
    raw(test[:2])
    before = _fresh_mi(raw, train, test)
    model = _game()
    history = model.fit(train, batch_size=64, epochs=20, verbose=0)
    assert history.history["log_det"] == pytest.approx([0.0] * 20)
    after = _fresh_mi(model.generator, train, test)
    assert after < before - 0.5, (before, after)


def test_semi_supervised_game_keeps_the_label_and_removes_the_nuisance():
    train, labels, _ = toy_images(1024)
    test, test_labels, test_nuisance = toy_images(512, seed=1)
    masked = labels.copy()
    masked[::2] = -1  # half the labels are unknown
    model = _game(
        generator_lr=1e-3,
        classifiers=[_encoder(4), _encoder(4)],
        classification_weight=5.0,
    )
    model.build((None, 4, 4, 3))
    acc_before, r2_before = _view1_signals(
        model.generator, test, test_labels, test_nuisance
    )
    history = model.fit(train, masked, batch_size=64, epochs=20, verbose=0)
    acc_after, r2_after = _view1_signals(
        model.generator, test, test_labels, test_nuisance
    )
    assert acc_before < 0.7 and r2_before > 0.3
    assert acc_after > 0.95, acc_after
    assert r2_after < 0.05, r2_after
    accuracy_1 = history.history["accuracy_1"]
    assert accuracy_1[-1] > accuracy_1[0] + 0.2, accuracy_1


def test_each_player_moves_only_through_its_optimizer():
    images, labels, _ = toy_images(128)
    model = _game(classifiers=[_encoder(4), _encoder(4)])
    model.build((None, 4, 4, 3))
    enc = [v.numpy().copy() for v in model.encoder_variables()]
    gen = [v.numpy().copy() for v in model.generator_variables()]
    model.generator_optimizer.learning_rate.assign(0.0)
    model.train_on_batch(images, labels)
    assert any(
        not np.allclose(a, v.numpy())
        for a, v in zip(enc, model.encoder_variables())
    )
    for a, v in zip(gen, model.generator_variables()):
        np.testing.assert_array_equal(a, v.numpy())
    model.generator_optimizer.learning_rate.assign(1e-2)
    model.optimizer.learning_rate.assign(0.0)
    enc = [v.numpy().copy() for v in model.encoder_variables()]
    model.train_on_batch(images, labels)
    for a, v in zip(enc, model.encoder_variables()):
        np.testing.assert_array_equal(a, v.numpy())
    variable_ids = {id(v) for v in model.encoder_variables()}
    assert not variable_ids & {id(v) for v in model.generator_variables()}


def test_generator_every_k_steps():
    images, _, _ = toy_images(64)
    model = _game(generator_every=3)
    for _ in range(6):
        model.train_on_batch(images)
    assert int(model.optimizer.iterations.numpy()) == 6
    assert int(model.generator_optimizer.iterations.numpy()) == 2


def test_save_load_restores_both_optimizers_and_resumes(tmp_path):
    images, labels, _ = toy_images(128)
    model = _game(classifiers=[_encoder(4), _encoder(4)])
    model.fit(images, labels, batch_size=64, epochs=1, shuffle=False, verbose=0)
    path = os.path.join(tmp_path, "infomin.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    for a, b in (
        (model.optimizer, loaded.optimizer),
        (model.generator_optimizer, loaded.generator_optimizer),
    ):
        assert len(a.variables) == len(b.variables) > 2
        for va, vb in zip(a.variables, b.variables):
            np.testing.assert_allclose(va.numpy(), vb.numpy())
    np.testing.assert_allclose(
        loaded.predict(images, verbose=0),
        model.predict(images, verbose=0),
        atol=1e-6,
    )
    for m in (model, loaded):
        m.fit(images, labels, batch_size=64, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_bad_inputs():
    images, _, _ = toy_images(32)
    with pytest.raises(ValueError, match="one encoder per view"):
        models.InfoMinModel(_generator(), _encoder())
    with pytest.raises(ValueError, match="generator_every"):
        models.InfoMinModel(
            _generator(), [_encoder(), _encoder()], generator_every=0
        )
    semi = _game(classifiers=[_encoder(4), _encoder(4)])
    with pytest.raises(ValueError, match="needs labels"):
        semi.fit(images, batch_size=16, verbose=0)
    model = models.InfoMinModel(_generator(), [_encoder(), _encoder()])
    model.compile(optimizer="adam", generator_optimizer="adam")
    with pytest.raises(ValueError, match="not a tuple of views"):
        model.fit((images, images), batch_size=16, verbose=0)
