import math

import keras
import numpy as np
import pytest
from scipy import stats

from keras_infomin import critics
from keras_infomin import encoders
from keras_infomin import models
from keras_infomin import views
from keras_infomin.evaluation import FreshCriticMI
from keras_infomin.evaluation import fresh_critic_mi
from tests.evaluation._data import digits_split

CLASSES = 4
BATCH = 64


def split_views(batch):
    """First and second half of each row: a plain (non-layer) function."""
    half = batch.shape[-1] // 2
    return batch[:, :half], batch[:, half:]


def shared_class_data(n=2048, noise=0.1, seed=0):
    """Each half of a row: the one-hot class plus its own small noise.

    The halves share the class (I = log 4) and nothing else.
    """
    rng = np.random.default_rng(seed)
    onehot = np.eye(CLASSES)[rng.integers(0, CLASSES, n)]
    halves = [onehot + noise * rng.normal(size=onehot.shape) for _ in "ab"]
    return np.concatenate(halves, axis=1).astype("float32")


def optimal_infonce_shared_class(batch, classes):
    """I_NCE of the optimal critic when the views share a uniform class.

    f = log p(v2 | v1) / p(v2) is log K within a class and -inf across
    classes, so row i reads log(N / m_i), m_i = 1 + Binomial(N - 1, 1 / K)
    examples of its class in the batch (itself included).
    """
    others = np.arange(batch)
    weights = stats.binom.pmf(others, batch - 1, 1.0 / classes)
    return float(np.sum(weights * np.log(batch / (1.0 + others))))


def test_shared_class_reads_the_optimal_critic_value():
    result = fresh_critic_mi(split_views, shared_class_data(), batch_size=BATCH)
    expected = optimal_infonce_shared_class(BATCH, CLASSES)  # 1.363 nats
    assert expected < math.log(CLASSES)
    assert result.value == pytest.approx(expected, abs=0.06)
    assert result.cap == pytest.approx(math.log(BATCH))
    assert len(result.batch_values) == 1024 // BATCH  # half held out
    assert result.value == pytest.approx(np.mean(result.batch_values))
    assert 0.0 < result.stderr < 0.05
    assert float(result) == result.value


def test_independent_views_read_about_zero():
    x = np.random.default_rng(1).normal(size=(2048, 8)).astype("float32")
    result = fresh_critic_mi(split_views, x, batch_size=BATCH)
    # The critic fits some noise of its training half (train_value > 0);
    # on the held-out half that reads slightly below 0.
    assert -0.25 < result.value < 0.05
    assert result.train_value > result.value


def noisy_copies(stddev=0.5):
    """Two noisy copies of the input: a random Keras view layer."""
    return views.Views(keras.layers.GaussianNoise(stddev), num_views=2)


def digit_images():
    """The digits split as 8x8 one-channel images (what view layers take)."""
    (x, y), (held, held_y) = digits_split()
    return (x.reshape(-1, 8, 8, 1), y), (held.reshape(-1, 8, 8, 1), held_y)


def test_seeded_and_leaves_the_view_layer_alone():
    (x, _), _ = digit_images()
    layer = noisy_copies()
    layer(x[:2])
    state = layer.transforms[0].seed_generator.state.numpy().copy()
    kwargs = dict(steps=20, batch_size=32)
    first = fresh_critic_mi(layer, x[:512], seed=3, **kwargs)
    again = fresh_critic_mi(layer, x[:512], seed=3, **kwargs)
    other = fresh_critic_mi(layer, x[:512], seed=4, **kwargs)
    assert again.batch_values == first.batch_values
    assert other.batch_values != first.batch_values
    # The layer was copied: its random state did not move.
    np.testing.assert_array_equal(
        layer.transforms[0].seed_generator.state.numpy(), state
    )


@pytest.mark.parametrize("as_layer", [True, False])
def test_view_weights_do_not_train(as_layer):
    (x, _), _ = digit_images()
    projection = keras.layers.Dense(16)
    layer = views.Views(projection, num_views=2)
    layer(x[:2])
    before = projection.kernel.numpy().copy()
    fixed = layer if as_layer else (lambda images: layer(images))
    fresh_critic_mi(fixed, x[:256], steps=5, batch_size=32)
    np.testing.assert_array_equal(projection.kernel.numpy(), before)


def test_argument_errors():
    x = shared_class_data(n=200)
    with pytest.raises(ValueError, match="two batches"):
        fresh_critic_mi(split_views, x, batch_size=64)
    with pytest.raises(ValueError, match="held_out"):
        fresh_critic_mi(split_views, x, held_out=1.5)
    with pytest.raises(ValueError, match="shape"):
        fresh_critic_mi(split_views, x, held_out=x[:, :3])
    with pytest.raises(TypeError, match="views"):
        fresh_critic_mi("lab", x)
    with pytest.raises(ValueError, match="float"):
        fresh_critic_mi(split_views, x.astype("int32"))
    with pytest.raises(ValueError, match="tuple of at least two"):
        fresh_critic_mi(lambda b: b, x, batch_size=16)
    with pytest.raises(ValueError, match="steps"):
        fresh_critic_mi(split_views, x, steps=0)


def small_model(view_layer=None):
    model = models.ContrastiveModel(
        encoder=keras.Sequential(
            [keras.layers.Flatten(), encoders.MLP([32], output_dim=8)]
        ),
        view_layer=view_layer or noisy_copies(),
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    return model


def test_callback_reaches_history_and_early_stopping(tmp_path):
    (x, _), (held, _) = digit_images()
    kwargs = dict(steps=15, batch_size=32, seed=5)
    monitor = FreshCriticMI(held[:256], **kwargs)
    stop = keras.callbacks.EarlyStopping(
        "fresh_mi", mode="max", min_delta=100.0, patience=0
    )
    best = str(tmp_path / "best.weights.h5")
    checkpoint = keras.callbacks.ModelCheckpoint(
        best,
        "fresh_mi",
        mode="max",
        save_best_only=True,
        save_weights_only=True,
    )
    # Views that learn (a trained projection): what the monitor is for.
    model = small_model(views.Views(keras.layers.Dense(16), num_views=2))
    history = model.fit(
        x,
        batch_size=128,
        epochs=5,
        verbose=0,
        callbacks=[monitor, stop, checkpoint],
    )
    logged = history.history
    # EarlyStopping read the value: no epoch improves by 100 nats, so it
    # stops after the second epoch.
    assert len(logged["loss"]) == 2
    assert len(logged["fresh_mi"]) == len(logged["fresh_mi_stderr"]) == 2
    assert (tmp_path / "best.weights.h5").exists()
    # Same seed each time: the values differ because the views changed.
    first, second = (r.batch_values for r in monitor.results)
    assert first != second
    # The logged value is the function's on the model's current views.
    direct = fresh_critic_mi(model.view_layer, held[:256], **kwargs)
    assert logged["fresh_mi"][-1] == pytest.approx(direct.value, abs=1e-6)
    assert monitor.results[-1].batch_values == direct.batch_values


def test_callback_views_resolution():
    (x, _), (held, _) = digit_images()
    model = small_model()
    model.build((None, 8, 8, 1))
    named = FreshCriticMI(held, views="view_layer")
    named.set_model(model)
    assert named.resolve_views() is model.view_layer
    missing = FreshCriticMI(held, views="generator")
    missing.set_model(model)
    with pytest.raises(AttributeError, match="generator"):
        missing.resolve_views()
    with pytest.raises(TypeError, match="stepz"):
        FreshCriticMI(held, stepz=3)
    with pytest.raises(TypeError, match="views"):
        FreshCriticMI(held, views=3)


def test_random_layers_with_branches():
    # RandomApply draws inside a conditional branch: the trainer's symbolic
    # build must not run those draws.
    images = np.random.default_rng(0).uniform(size=(96, 4, 4, 1))
    layer = views.Views(
        views.RandomApply(views.RandomHorizontalFlip(), rate=0.5), num_views=2
    )
    result = fresh_critic_mi(
        layer,
        images.astype("float32"),
        encoder_factory=lambda: keras.layers.Flatten(),
        critic=critics.Bilinear(),
        steps=2,
        batch_size=16,
    )
    assert np.isfinite(result.value) and len(result.batch_values) == 3


def test_callback_on_the_learned_view_game():
    """`InfoMinModel`: the monitor reads the current, frozen generator."""
    images = np.random.default_rng(0).uniform(size=(64, 8, 8, 3))
    images = images.astype("float32")
    model = models.InfoMinModel(
        generator=views.FlowViewGenerator(
            encoders.RealNVP(
                num_couplings=2, hidden_units=(8,), init_std=1e-3, seed=0
            ),
            input_space="rgb",
        ),
        encoders=[encoders.ConvNet((8,), 3, output_dim=8) for _ in "ab"],
    )
    model(images[:2])
    weights = model.generator.get_weights()
    kwargs = dict(steps=3, batch_size=16)
    monitor = FreshCriticMI(images, views="generator", **kwargs)
    monitor.set_model(model)
    monitor.set_params({"epochs": 1})
    logs = {"mi": 0.5}
    monitor.on_epoch_end(0, logs)  # what fit calls after each epoch
    direct = fresh_critic_mi(model.generator, images, **kwargs)
    assert logs["fresh_mi"] == pytest.approx(direct.value)
    assert logs["fresh_mi_stderr"] == pytest.approx(direct.stderr)
    for before, after in zip(weights, model.generator.get_weights()):
        np.testing.assert_array_equal(before, after)
