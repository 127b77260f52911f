import os

import keras
import numpy as np
import pytest

from keras_infomin import encoders
from keras_infomin import models
from keras_infomin import views
from tests.models import toy


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


def _generator(num_couplings=4):
    return views.FlowViewGenerator(
        encoders.RealNVP(
            num_couplings, (16,), coupling="additive", init_std=1e-3, seed=0
        )
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


def _game(labels=None, generator_lr=3e-3, seed=0, num_couplings=4, **kwargs):
    keras.utils.set_random_seed(seed)
    model = models.InfoMinModel(
        _generator(num_couplings), [_encoder(), _encoder()], **kwargs
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


def test_semi_supervised_every_k_step_compiles_with_xla():
    """The whole game step (cond, masked heads) is one XLA program.

    XLA is what TPUs run, so host-side Python or data-dependent shapes in
    the step would fail here. The compiled steps match the plain ones.
    """
    images, labels, _ = toy_images(32)
    labels = labels.copy()
    labels[::3] = -1
    runs = []
    for jit in (False, True):
        keras.utils.set_random_seed(0)
        model = models.InfoMinModel(
            _generator(2),
            [_encoder(), _encoder()],
            classifiers=[_encoder(4), _encoder(4)],
            generator_every=2,
        )
        model.compile(
            encoder_optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
            generator_optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
            jit_compile=jit,
        )
        logs = [
            model.train_on_batch(images, labels, return_dict=True)
            for _ in range(3)
        ]
        runs.append((model, logs))
    (plain, plain_logs), (compiled, compiled_logs) = runs
    for a, b in zip(plain_logs, compiled_logs):
        for key in a:
            assert b[key] == pytest.approx(a[key], abs=1e-4), key
    assert int(compiled.generator_optimizer.iterations.numpy()) == 1
    for a, b in zip(plain.variables, compiled.variables):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-4)


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


def _logsumexp(a, axis):
    peak = a.max(axis=axis, keepdims=True)
    return np.log(np.exp(a - peak).sum(axis=axis)) + peak.squeeze(axis)


def _infonce_cosine(za, zb, temperature=0.1):
    """Symmetric InfoNCE of a cosine critic, in float64 numpy."""
    za = za / np.linalg.norm(za, axis=1, keepdims=True)
    zb = zb / np.linalg.norm(zb, axis=1, keepdims=True)
    scores = za.astype("float64") @ zb.T.astype("float64") / temperature

    def one_way(s):
        return np.mean(np.diag(s) - _logsumexp(s, axis=1)) + np.log(len(s))

    return 0.5 * (one_way(scores) + one_way(scores.T))


def _masked_ce_and_accuracy(logits, labels):
    logits = logits.astype("float64")
    keep = labels >= 0
    logits, labels = logits[keep], labels[keep]
    ce = _logsumexp(logits, axis=1) - logits[np.arange(len(labels)), labels]
    return ce.mean(), np.mean(logits.argmax(axis=1) == labels)


SEMI_LOGS = {
    "loss",
    "mi",
    "mi_cap",
    "generator_loss",
    "log_det",
    "ce_1",
    "ce_2",
    "accuracy_1",
    "accuracy_2",
}


def test_semi_supervised_logs_match_an_independent_computation():
    images, labels, _ = toy_images(96)
    masked = labels.copy()
    masked[::3] = -1
    weight = 2.5
    model = _game(
        classifiers=[_encoder(4), _encoder(4)],
        classification_weight=weight,
        num_couplings=2,
    )
    history = model.fit(images, masked, batch_size=32, epochs=1, verbose=0)
    assert SEMI_LOGS <= set(history.history), sorted(history.history)
    for name in SEMI_LOGS:
        assert np.isfinite(history.history[name]).all(), name
    # One batch: the logs are that batch's values.
    batch, batch_labels = images[:32], masked[:32]
    logs = model.evaluate(
        batch, batch_labels, batch_size=32, verbose=0, return_dict=True
    )
    assert SEMI_LOGS <= set(logs)
    views_ = [v.numpy() for v in model.generator(batch)]
    z = [model.encoders[k](v).numpy() for k, v in enumerate(views_)]
    mi = _infonce_cosine(z[0], z[1])
    terms = [
        _masked_ce_and_accuracy(c(v).numpy(), batch_labels)
        for c, v in zip(model.classifiers, views_)
    ]
    assert logs["mi"] == pytest.approx(mi, abs=1e-4)
    assert logs["loss"] == pytest.approx(-mi, abs=1e-4)
    assert logs["mi_cap"] == pytest.approx(np.log(32), abs=1e-5)
    assert logs["log_det"] == pytest.approx(0.0, abs=1e-6)  # additive flow
    for k, (ce, accuracy) in enumerate(terms):
        assert logs[f"ce_{k + 1}"] == pytest.approx(ce, abs=1e-4)
        assert logs[f"accuracy_{k + 1}"] == pytest.approx(accuracy, abs=1e-6)
    ce_sum = terms[0][0] + terms[1][0]
    assert logs["generator_loss"] == pytest.approx(
        mi + weight * ce_sum, abs=1e-3
    )
    # The masked rows matter: counting them would change the numbers.
    unmasked = _masked_ce_and_accuracy(
        model.classifiers[0](views_[0]).numpy(), np.abs(batch_labels)
    )
    assert abs(unmasked[0] - terms[0][0]) > 1e-3


def test_frozen_generator_is_a_fixed_copy_that_stage_two_leaves_alone():
    images, _, _ = toy_images(64)
    keras.utils.set_random_seed(3)
    generator = _generator(num_couplings=2)
    generator.build((None, 4, 4, 3))
    rng = np.random.default_rng(0)
    generator.set_weights(
        [0.3 * rng.normal(size=w.shape) for w in generator.get_weights()]
    )
    trained = [w.copy() for w in generator.get_weights()]

    frozen = models.frozen_generator(generator)
    assert frozen is not generator and not frozen.trainable
    assert frozen.trainable_weights == []
    assert len(frozen.weights) == len(generator.weights)
    assert frozen.get_config()["split"] == generator.get_config()["split"]
    for a, b in zip(frozen(images), generator(images)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)
    # The views are not the raw channel split: the copy carries the weights.
    assert not np.allclose(
        frozen(images)[0].numpy(), images[..., :1], atol=0.01
    )

    keras.utils.set_random_seed(4)
    encoders_ = [_encoder(), _encoder()]
    model = models.train_on_learned_views(
        generator,
        encoders_,
        images,
        epochs=1,
        batch_size=32,
        optimizer=keras.optimizers.SGD(0.5),
    )
    assert not model.view_layer.trainable
    assert {id(v) for v in model.trainable_variables}.isdisjoint(
        id(v) for v in model.view_layer.weights
    )
    for a, b, c in zip(
        trained, generator.get_weights(), model.view_layer.get_weights()
    ):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    # Without the freeze the same training moves g: the check can fail.
    keras.utils.set_random_seed(4)
    unfrozen = models.ContrastiveModel(
        encoder=[_encoder(), _encoder()], view_layer=generator
    )
    unfrozen.compile(optimizer=keras.optimizers.SGD(0.5))
    unfrozen.fit(images, batch_size=32, epochs=1, verbose=0)
    assert any(
        not np.allclose(a, b) for a, b in zip(trained, generator.get_weights())
    )
    with pytest.raises(ValueError, match="trained \\(built\\) first"):
        models.frozen_generator(_generator())


def test_backup_and_restore_resumes_both_players(tmp_path):
    images, labels, _ = toy_images(96)
    masked = labels.copy()
    masked[::2] = -1

    def game(seed):
        # Layers draw their initialisers' seeds when constructed.
        keras.utils.set_random_seed(seed)
        classifiers = [_encoder(4), _encoder(4)]
        model = _game(
            seed=seed,
            classifiers=classifiers,
            generator_every=2,
            num_couplings=2,
        )
        model.build((None, 4, 4, 3))  # BackupAndRestore needs it built
        return model

    def fit(model, callbacks):
        return model.fit(
            images,
            masked,
            batch_size=32,
            epochs=4,
            shuffle=False,
            verbose=0,
            callbacks=callbacks,
        )

    reference = game(seed=0)
    fit(reference, [])
    assert int(reference.optimizer.iterations.numpy()) == 12
    assert int(reference.generator_optimizer.iterations.numpy()) == 6

    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    interrupted = game(seed=0)
    with pytest.raises(RuntimeError, match="interrupted"):
        fit(interrupted, [backup, toy.Interrupt()])
    assert int(interrupted.optimizer.iterations.numpy()) == 6

    # A different initialisation: only a real restore can match.
    resumed = game(seed=1)
    assert not np.allclose(
        resumed.get_weights()[0], interrupted.get_weights()[0]
    )
    epochs = toy.EpochRecorder()
    fit(resumed, [backup, epochs])
    assert epochs.seen == [2, 3]
    for a, b in (
        (resumed.optimizer, reference.optimizer),
        (resumed.generator_optimizer, reference.generator_optimizer),
    ):
        assert int(a.iterations.numpy()) == int(b.iterations.numpy())
        for va, vb in zip(a.variables, b.variables):
            np.testing.assert_allclose(
                va.numpy(), vb.numpy(), atol=1e-5, err_msg=va.path
            )
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-5)
