"""InfoMinModel (two players, two optimizers) under MirroredStrategy.

Same protocol as `test_models_distributed.py`: one replica is the
reference, two replicas (logical CPUs) start from its initial weights and
must reproduce its logs, both players' weights and both optimizers' slots.
Both players use SGD with momentum (stateful, built in the scope by
`compile`). Adam is avoided on purpose: near-identity flows have
gradients at rounding level for some weights, and Adam's first steps
(about `lr * sign(g)`) turn the different summation order of two replicas
into visible differences, which says nothing about the distribution code.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_infomin import distribute
from keras_infomin import models
from keras_infomin import views
from keras_infomin.encoders import RealNVP

DEVICES = ["/cpu:0", "/cpu:1"]
ATOL = 1e-5
STEPS = 2
GLOBAL_BATCH = 16


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    colour = np.stack(
        [labels / 2.0, rng.random(n), (labels / 2.0 + rng.random(n)) / 2], 1
    )
    images = colour[:, None, None, :] + 0.05 * rng.normal(size=(n, 4, 4, 3))
    return images.astype("float32"), labels


def _encoder():
    return keras.Sequential(
        [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(8)]
    )


def _make(semi_supervised, generator_every, **options):
    classifiers = None
    if semi_supervised:
        classifiers = [
            keras.Sequential(
                [keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)]
            )
            for _ in range(2)
        ]
    standardize = options.pop("standardize", False)
    return models.InfoMinModel(
        generator=views.FlowViewGenerator(
            RealNVP(2, (8,), coupling="additive", init_std=1e-3, seed=0),
            standardize=standardize,
        ),
        encoders=[_encoder(), _encoder()],
        classifiers=classifiers,
        generator_every=generator_every,
        **options,
    )


def _build(strategy, semi, every, init=None, options=None, ema=None):
    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = _make(semi, every, **dict(options or {}))
        model(_images(2)[0])
        if init is not None:
            model.set_weights(init)
        model.compile(
            encoder_optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
            generator_optimizer=keras.optimizers.SGD(
                0.05,
                momentum=0.9,
                use_ema=ema is not None,
                ema_momentum=ema or 0.99,
            ),
        )
    return model


def _fit(model, images, labels, semi, steps=STEPS):
    data = (images, labels) if semi else images
    ds = tf.data.Dataset.from_tensor_slices(data).batch(GLOBAL_BATCH)
    history = model.fit(
        ds, epochs=steps, steps_per_epoch=1, shuffle=False, verbose=0
    )
    return history.history


def _compare(semi=False, every=1, steps=STEPS, ema=None, **options):
    images, labels = _images(steps * GLOBAL_BATCH)
    if semi:
        # Unlabelled examples (-1) spread unevenly: replica 0 holds 2
        # labelled rows of 8 in the first batch, replica 1 holds 8.
        labels = labels.copy()
        labels[2:8] = -1
    ref = _build(
        tf.distribute.get_strategy(), semi, every, options=options, ema=ema
    )
    initial = ref.get_weights()
    model = _build(
        distribute.get_strategy(DEVICES), semi, every, initial, options, ema
    )
    # Two replicas first: a failure there needs no reference run.
    history = _fit(model, images, labels, semi, steps)
    ref_history = _fit(ref, images, labels, semi, steps)
    for key, values in ref_history.items():
        np.testing.assert_allclose(
            history[key], values, rtol=1e-5, atol=ATOL, err_msg=key
        )
    moved = False
    for var, ref_var, w0 in zip(model.variables, ref.variables, initial):
        want = ref_var.numpy()
        np.testing.assert_allclose(
            var.numpy(), want, atol=ATOL, err_msg=var.path
        )
        moved = moved or not np.allclose(want, w0, atol=1e-4)
    assert moved
    pairs = [
        (model.optimizer, ref.optimizer),
        (model.generator_optimizer, ref.generator_optimizer),
    ] + list(zip(model.adversary_optimizers, ref.adversary_optimizers))
    for opt, ref_opt in pairs:
        assert len(opt.variables) == len(ref_opt.variables)
        for var, ref_var in zip(opt.variables, ref_opt.variables):
            assert isinstance(var.value, tf.distribute.DistributedValues)
            np.testing.assert_allclose(
                var.numpy(), ref_var.numpy(), atol=ATOL, err_msg=var.path
            )
    # The encoder optimizer is model.optimizer: no unused default one.
    assert int(model.optimizer.iterations.numpy()) == steps
    generator_steps = (steps - options.get("warmup_steps", 0)) // every
    assert int(model.generator_optimizer.iterations.numpy()) == generator_steps
    return model


def test_simultaneous_game_matches_one_replica():
    """Both players step every batch; the InfoNCE term is global."""
    _compare()


def test_semi_supervised_game_with_unevenly_labelled_replicas():
    """Cross-entropies averaged over the global batch's labelled rows."""
    _compare(semi=True)


def test_generator_every_two_steps():
    """The generator's update sits in a `cond` (its turn every k steps)."""
    _compare(every=2)


def test_generator_moving_average_matches_one_replica():
    """The generator optimizer's moving average (`use_ema`), updated in
    cross-replica context on its turns and written into the generator at
    the end of `fit`, equals one replica's."""
    model = _compare(every=2, steps=4, ema=0.5)
    assert model.generator_optimizer.use_ema


def test_the_game_s_levers_match_one_replica():
    """Warm-up, a pool with a reset, CLUB for g, standardised views.

    Batch statistics of the views and the conditional's log-likelihoods
    are global; the reset (after step 2) zeroes mirrored weights and
    optimizer slots in sync.
    """
    model = _compare(
        every=2,
        steps=3,
        warmup_steps=1,
        adversaries=2,
        reset_every=2,
        generator_bound="club",
        standardize=True,
    )
    # The further adversary trained once since its reset at step 2.
    assert int(model.adversary_optimizers[0].iterations.numpy()) == 1
