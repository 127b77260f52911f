"""`evaluation.run_protocol`: InfoMin's game, stage 2 and the probe."""

import numpy as np
import pytest

from keras_infomin import evaluation
from tests.models.test_infomin import _encoder
from tests.models.test_infomin import _game
from tests.models.test_infomin import _infonce_cosine
from tests.models.test_infomin import toy_images


def test_run_protocol_runs_the_three_stages():
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import MinMaxScaler

    train, train_labels, _ = toy_images(128)
    test, test_labels, _ = toy_images(64, seed=1)
    model = _game(num_couplings=2)
    made, after_stage_one = [], []

    def make_encoders():
        # Called between stages 1 and 2.
        after_stage_one.extend(w.copy() for w in model.generator.get_weights())
        made.extend([_encoder(), _encoder()])
        return list(made)

    monitor = evaluation.FreshCriticMI(
        test, views="generator", steps=3, batch_size=16
    )
    result = evaluation.run_protocol(
        model,
        train,
        make_encoders,
        (train, train_labels),
        (test, test_labels),
        game_epochs=2,
        view_epochs=2,
        batch_size=32,
        monitor=monitor,
    )
    assert set(result) == {
        "mi_views",
        "probe_accuracy",
        "game_mi",
        "history",
        "fresh_mi",
        "fresh_mi_history",
    }
    # The honest monitor ran after each game epoch, next to the game's mi.
    assert [e for e, _ in result["fresh_mi_history"]] == [0, 1]
    assert result["history"]["fresh_mi"] == [
        v for _, v in result["fresh_mi_history"]
    ]
    assert result["fresh_mi"] == result["history"]["fresh_mi"][-1]
    assert result["game_mi"] == result["history"]["mi"][-1]
    direct = evaluation.fresh_critic_mi(
        model.generator, test, steps=3, batch_size=16
    )
    assert result["fresh_mi"] == pytest.approx(direct.value, abs=1e-6)
    # Stage 1: the game, 2 epochs of 4 steps for both players.
    assert len(result["history"]["mi"]) == 2
    assert {"loss", "mi", "generator_loss", "log_det"} <= set(result["history"])
    assert int(model.optimizer.iterations.numpy()) == 8
    assert int(model.generator_optimizer.iterations.numpy()) == 8
    # Stage 2 trained the new encoders only, on frozen views.
    assert len(made) == 2
    for a, b in zip(after_stage_one, model.generator.get_weights()):
        np.testing.assert_array_equal(a, b)

    def features(images):
        return np.concatenate(
            [e(v).numpy() for e, v in zip(made, model.generator(images))],
            axis=1,
        )

    # mi_views: I_NCE of the stage-2 encoders on g's views of the test
    # images, averaged over batches of 32.
    z = [e(v).numpy() for e, v in zip(made, model.generator(test))]
    expected = np.mean(
        [_infonce_cosine(z[0][i : i + 32], z[1][i : i + 32]) for i in (0, 32)]
    )
    assert result["mi_views"] == pytest.approx(expected, abs=1e-4)
    assert result["mi_views"] < np.log(32)  # InfoNCE's cap at 32 rows
    # Stage 3: a linear probe of the concatenated representation.
    scaler = MinMaxScaler().fit(features(train))
    probe = LogisticRegression(
        solver="saga", C=10.0, tol=0.1, max_iter=100, random_state=0
    ).fit(scaler.transform(features(train)), train_labels)
    accuracy = probe.score(scaler.transform(features(test)), test_labels)
    # Equal up to one test image (features from batched vs direct calls).
    assert result["probe_accuracy"] == pytest.approx(accuracy, abs=1.5 / 64)
    assert result["probe_accuracy"] > 0.5  # four classes: chance is 0.25


def test_monitor_argument():
    model = _game(num_couplings=2)
    with pytest.raises(ValueError, match="FreshCriticMI"):
        evaluation.run_protocol(
            model,
            np.zeros((8, 4, 4, 3), "float32"),
            list,
            None,
            None,
            1,
            1,
            monitor=np.zeros((8, 3)),
        )
