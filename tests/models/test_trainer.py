"""The contract every trainer keeps through the one `Trainer.train_step`.

Regularisers reach the player that owns them; `compile(loss=...)`,
compiled metrics and `sample_weight` behave as Keras users expect; a last
batch too small for the bound trains nothing and stays out of the logs;
MINE runs in the trainers; one vocabulary. Numbers are checked against
numpy (tests/bounds/numpy_reference.py) or against a second run.
"""

import os

import keras
import numpy as np
import pytest

from keras_infomin import critics
from keras_infomin import data
from keras_infomin import encoders
from keras_infomin import evaluation
from keras_infomin import losses
from keras_infomin import metrics
from keras_infomin import models
from keras_infomin import views
from tests.bounds import numpy_reference as ref
from tests.models.test_infomin import _encoder as _pooling_encoder
from tests.models.test_infomin import _generator
from tests.models.test_infomin import toy_images
from tests.models.toy import shared_signal_views


def _norm(layer):
    return float(np.sqrt(sum(np.sum(w**2) for w in layer.get_weights())))


def _cosine_scores(za, zb, temperature=0.1):
    a = za / np.linalg.norm(za, axis=1, keepdims=True)
    b = zb / np.linalg.norm(zb, axis=1, keepdims=True)
    return a @ b.T / temperature


def _contrastive(seed=0, **kwargs):
    keras.utils.set_random_seed(seed)
    defaults = dict(encoder=encoders.MLP((16,), output_dim=8))
    defaults.update(kwargs)
    return models.ContrastiveModel(**defaults)


# ------------------------------------------------------------ regularisers


def test_mi_estimator_trains_its_critics_regulariser():
    x, y, _ = data.correlated_gaussians(128, dim=4, mi=1.0, seed=0)
    kernels = []
    for l2 in (None, keras.regularizers.L2(100.0)):
        keras.utils.set_random_seed(0)
        critic = critics.Bilinear(kernel_regularizer=l2)
        model = models.MIEstimator(critic, bound="nwj")
        model.compile(optimizer=keras.optimizers.SGD(1e-3))
        model.fit(x, y, batch_size=64, epochs=3, verbose=0)
        kernels.append(_norm(critic))
    # SGD on 100 |W|^2 shrinks W by (1 - 0.2) per step: 6 steps.
    assert kernels[1] < 0.4 * kernels[0], kernels


def test_each_regulariser_moves_only_the_player_that_owns_it():
    """InfoMin: the classifiers' penalty trains the classifiers (the
    generator's player), the encoders' penalty never moves the generator."""
    images, labels, _ = toy_images(64)

    def game(classifier_l2, encoder_l2):
        keras.utils.set_random_seed(0)
        head = [
            keras.Sequential(
                [
                    keras.layers.GlobalAveragePooling2D(),
                    keras.layers.Dense(
                        4, kernel_regularizer=classifier_l2, name="head"
                    ),
                ]
            )
            for _ in range(2)
        ]
        encoders_ = [
            keras.Sequential(
                [
                    keras.layers.GlobalAveragePooling2D(),
                    keras.layers.Dense(8, kernel_regularizer=encoder_l2),
                ]
            )
            for _ in range(2)
        ]
        model = models.InfoMinModel(_generator(2), encoders_, classifiers=head)
        model.compile(
            encoder_optimizer=keras.optimizers.SGD(0.0),
            generator_optimizer=keras.optimizers.SGD(1e-3),
        )
        model.fit(images, labels, batch_size=32, epochs=2, verbose=0)
        return model

    plain = game(None, None)
    penalised = game(keras.regularizers.L2(100.0), None)
    assert _norm(penalised.classifiers[0]) < 0.6 * _norm(plain.classifiers[0])
    # A huge penalty on the encoders (frozen: learning rate 0) changes
    # nothing for the generator, which does not own it.
    encoder_penalty = game(None, keras.regularizers.L2(1e4))
    for a, b in zip(
        plain.generator.get_weights(), encoder_penalty.generator.get_weights()
    ):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_adversarial_encoder_trains_its_regulariser_on_its_turns_only():
    x = np.random.default_rng(0).normal(size=(64, 6)).astype("float32")
    y = (x[:, 0] > 0).astype("int64")

    def fit(l2, warmup):
        keras.utils.set_random_seed(0)
        encoder = keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(6, kernel_regularizer=l2)]
        )
        model = models.AdversarialInvertibleEncoder(
            encoder, 2, classifier_steps=1, warmup_steps=warmup
        )
        model.compile(
            encoder_optimizer=keras.optimizers.SGD(1e-3),
            classifier_optimizer=keras.optimizers.SGD(1e-3),
        )
        before = _norm(encoder)
        model.fit(x, y, batch_size=16, epochs=2, verbose=0)
        return before, _norm(encoder)

    start, plain = fit(None, warmup=0)
    _, penalised = fit(keras.regularizers.L2(100.0), warmup=0)
    assert penalised < 0.7 * plain, (plain, penalised)
    # Classifier turns only: the encoder's penalty is not the classifier's.
    before, after = fit(keras.regularizers.L2(100.0), warmup=100)
    assert after == pytest.approx(before, rel=1e-6)


# --------------------------------------------------------- Keras' contract


def test_compile_loss_sets_the_bound_or_is_refused():
    v1, v2, _ = shared_signal_views(n=64)
    model = _contrastive()
    model.compile(optimizer="sgd", loss=losses.NWJ())
    assert model.objective.bound == "nwj"
    logs = model.evaluate((v1, v2), batch_size=64, verbose=0, return_dict=True)
    za, zb = model.embed(v1).numpy(), model.embed(v2, 1).numpy()
    s = _cosine_scores(za, zb)
    expected = 0.5 * (ref.nwj(s) + ref.nwj(s.T))
    assert logs["mi"] == pytest.approx(expected, abs=1e-4)
    assert logs["loss"] == pytest.approx(-expected, abs=1e-4)
    model.compile(optimizer="sgd", loss=losses.InfoNCE(target=1.0))
    assert (model.objective.bound, model.target) == ("infonce", 1.0)
    with pytest.raises(ValueError, match="MI bound"):
        model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match="temperature"):
        model.compile(optimizer="sgd", loss=losses.DV(temperature=0.5))
    with pytest.raises(ValueError, match="fixed by its game"):
        models.AdversarialInvertibleEncoder(encoders.MLP((4,)), 2).compile(
            loss=losses.NWJ()
        )


def test_compiled_loss_survives_save_and_load(tmp_path):
    v1, v2, _ = shared_signal_views(n=64)
    model = _contrastive()
    model.compile(optimizer="adam", loss=losses.SMILE(tau=2.0))
    model.fit((v1, v2), batch_size=32, epochs=1, verbose=0)
    path = os.path.join(tmp_path, "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert (loaded.bound, loaded.bound_kwargs) == ("smile", {"tau": 2.0})


def _first_pair_accuracy(za, zb):
    s = _cosine_scores(za, zb)
    return np.mean(np.argmax(s, axis=1) == np.arange(len(s))), s


def test_compiled_metrics_reach_history_with_the_steps_scores():
    v1, v2, _ = shared_signal_views(n=64)
    model = _contrastive()
    model.compile(
        optimizer="adam",
        metrics=["accuracy", metrics.MutualInformation("dv")],
    )
    history = model.fit((v1, v2), batch_size=32, epochs=2, verbose=0)
    assert {"loss", "mi", "mi_cap", "accuracy", "mi_dv"} <= set(history.history)
    logs = model.evaluate((v1, v2), batch_size=64, verbose=0, return_dict=True)
    accuracy, s = _first_pair_accuracy(
        model.embed(v1).numpy(), model.embed(v2, 1).numpy()
    )
    assert logs["accuracy"] == pytest.approx(accuracy, abs=1e-6)
    assert logs["mi_dv"] == pytest.approx(ref.dv(s), abs=1e-4)


@pytest.mark.parametrize("trainer", ["moco", "estimator", "adversarial"])
def test_every_trainer_reports_compiled_metrics(trainer):
    v1, v2, _ = shared_signal_views(n=64)
    if trainer == "moco":
        model = models.MomentumContrast(
            encoders.MLP((8,), output_dim=4), queue_size=64
        )
        fit_args = ((v1, v2),)
    elif trainer == "estimator":
        model = models.MIEstimator(critics.Bilinear())
        fit_args = (v1, v2)
    else:
        model = models.AdversarialInvertibleEncoder(
            encoders.MLP((8,)), 2, warmup_steps=1
        )
        fit_args = (v1, (v1[:, 0] > 0).astype("int64"))
    model.compile(metrics=["accuracy"])
    history = model.fit(*fit_args, batch_size=32, epochs=1, verbose=0)
    value = history.history["accuracy"][0]
    assert 0.0 <= value <= 1.0


def test_sample_weight_is_refused_by_every_trainer():
    v1, v2, _ = shared_signal_views(n=32)
    weights = np.zeros(32, "float32")
    model = _contrastive()
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="sample_weight"):
        model.fit((v1, v2), sample_weight=weights, verbose=0)
    with pytest.raises(ValueError, match="sample_weight"):
        model.evaluate((v1, v2), sample_weight=weights, verbose=0)
    estimator = models.MIEstimator(critics.Bilinear())
    estimator.compile(optimizer="adam")
    with pytest.raises(ValueError, match="sample_weight"):
        estimator.fit(v1, v2, sample_weight=weights, verbose=0)
    moco = models.MomentumContrast(encoders.MLP((8,)), queue_size=64)
    moco.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="sample_weight"):
        moco.fit((v1, v2), sample_weight=weights, verbose=0)


# ------------------------------------------------------ small last batches


@pytest.mark.parametrize("bound", ["nwj", "dv", "interpolated", "infonce"])
def test_contrastive_last_batch_of_one_is_finite_and_left_out(bound):
    v1, v2, _ = shared_signal_views(n=65)  # 2 x 32 + 1
    model = _contrastive(bound=bound, projector=None)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit((v1, v2), batch_size=32, epochs=2, verbose=0)
    for key in ("loss", "mi", "mi_cap"):
        assert np.isfinite(history.history[key]).all(), history.history
    np.testing.assert_allclose(history.history["mi_cap"], np.log(32))
    assert all(np.isfinite(w).all() for w in model.get_weights())
    logs = model.evaluate((v1, v2), batch_size=32, verbose=0, return_dict=True)
    function = {
        "nwj": ref.nwj,
        "dv": ref.dv,
        "infonce": ref.infonce,
        "interpolated": lambda s: ref.interpolated(s, 0.01),
    }[bound]
    za, zb = model.embed(v1).numpy(), model.embed(v2).numpy()
    values = []
    for rows in (slice(0, 32), slice(32, 64)):
        s = _cosine_scores(za[rows], zb[rows])
        values.append(0.5 * (function(s) + function(s.T)))
    assert logs["mi"] == pytest.approx(np.mean(values), abs=1e-4)


def test_mi_estimator_logs_one_cap_and_skips_the_tail():
    x, y, _ = data.correlated_gaussians(65, dim=4, mi=1.0, seed=1)
    model = models.MIEstimator(critics.Bilinear(), bound="infonce")
    model.compile(optimizer="adam")
    history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)
    np.testing.assert_allclose(history.history["mi_cap"], np.log(32))
    logs = model.evaluate(x, y, batch_size=32, verbose=0, return_dict=True)
    scores = model.predict((x, y), batch_size=65, verbose=0)
    expected = np.mean(
        [ref.infonce(scores[r, r]) for r in (slice(0, 32), slice(32, 64))]
    )
    assert logs["mi"] == pytest.approx(expected, abs=1e-4)
    assert logs["mi_cap"] == pytest.approx(np.log(32))


# --------------------------------------------------------------------- MINE


def test_contrastive_model_trains_mine_and_saves_its_state(tmp_path):
    v1, v2, _ = shared_signal_views(n=96)
    model = _contrastive(bound="mine", bound_kwargs={"momentum": 0.5})
    model.compile(optimizer="adam")
    history = model.fit((v1, v2), batch_size=32, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    assert bool(model.objective.mine_started.numpy())
    state = float(model.objective.log_partition_average.numpy())
    logs = model.evaluate((v1, v2), batch_size=96, verbose=0, return_dict=True)
    za, zb = model.embed(v1).numpy(), model.embed(v2).numpy()
    s = _cosine_scores(za, zb)
    assert logs["mi"] == pytest.approx(
        0.5 * (ref.dv(s) + ref.dv(s.T)), abs=1e-4
    )
    # Evaluation reads the DV value and leaves the average alone.
    assert float(model.objective.log_partition_average.numpy()) == state
    path = os.path.join(tmp_path, "mine.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.bound == "mine"
    assert float(loaded.objective.log_partition_average.numpy()) == state


# --------------------------------------------------------------- vocabulary


def test_one_vocabulary_across_trainers():
    encoder = encoders.MLP((8,), output_dim=4)
    trainers = [
        models.ContrastiveModel(encoder),
        models.MomentumContrast(encoder, queue_size=16),
        models.InfoMinModel(
            _generator(2), [_pooling_encoder(), _pooling_encoder()]
        ),
        models.AdversarialInvertibleEncoder(encoder, 2),
    ]
    for trainer in trainers:
        assert trainer.encoder is trainer.encoders[0]
        # Probe callbacks read a trainer's representation (its `call`),
        # whatever its encoders: never one view's encoder on raw images.
        probe = evaluation.KNNMonitor(None, None)
        probe.set_model(trainer)
        assert probe.resolve_encoder() is trainer
    # The temperature is the critic's; a trainer's `temperature` sets the
    # default cosine critic's.
    za = np.random.default_rng(0).normal(size=(6, 4)).astype("float32")
    zb = np.random.default_rng(1).normal(size=(6, 4)).astype("float32")
    model = models.ContrastiveModel(encoder, temperature=0.3)
    s = _cosine_scores(za, zb, 0.3)
    assert float(model.pair_bound(za, zb)) == pytest.approx(
        0.5 * (ref.infonce(s) + ref.infonce(s.T)), abs=1e-5
    )
    assert models.MomentumContrast(encoder, temperature=0.3).temperature == 0.3
    with pytest.raises(ValueError, match="temperature"):
        models.ContrastiveModel(
            encoder, critic=critics.Bilinear(), temperature=0.3
        )
    assert critics.Separable((8,), output_dim=3).output_dim == 3
    head = views.JigSawHead(output_dim=8)
    assert models.ProjectionHead((8,), output_dim=3).output_dim == 3
    assert head.output_dim == 8


# ---------------------------------------------------------- mixed precision


@pytest.fixture
def policy(request):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(request.param)
    yield request.param
    keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize(
    "policy", ["mixed_bfloat16", "mixed_float16"], indirect=True
)
def test_contrastive_fit_under_mixed_precision_is_finite(policy):
    """Layers compute in 16 bits; the objective reads float32 embeddings,
    and under float16 every player's optimizer scales its loss."""
    v1, v2, _ = shared_signal_views(n=64)
    model = _contrastive(projector=models.ProjectionHead((16,), 8))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    history = model.fit((v1, v2), batch_size=32, epochs=2, verbose=0)
    for key in ("loss", "mi", "mi_cap"):
        assert np.isfinite(history.history[key]).all(), history.history
    assert model.encoder.compute_dtype == policy.replace("mixed_", "")
    assert all(w.dtype == "float32" for w in model.trainable_weights)
    za, zb = model.embed(v1[:32]), model.embed(v2[:32])
    estimate = model.objective.estimate_pair(za, zb)
    assert estimate.value.dtype == "float32"
    if policy == "mixed_float16":
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        adversarial = models.AdversarialInvertibleEncoder(
            encoders.MLP((8,)), 2, warmup_steps=1, classifier_steps=1
        )
        adversarial.compile()
        for optimizer in (
            adversarial.encoder_optimizer,
            adversarial.classifier_optimizer,
        ):
            assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        history = adversarial.fit(
            v1, (v1[:, 0] > 0).astype("int64"), batch_size=32, verbose=0
        )
        assert np.isfinite(history.history["classifier_loss"]).all()
