"""Held-out I_NCE between fixed views, measured by a freshly trained critic.

The InfoNCE value a trainer logs is measured by its own encoders, the ones
the views were tuned against: a learned view generator can hide
information from its current adversary without removing it, and a sweep
over views measures each value with encoders trained for a different
budget. `fresh_critic_mi` gives one yardstick for all of them: new encoders
and critic, trained for a fixed budget on part of the data through the
views held fixed, and the bound read on data they never saw.
"""

import contextlib
import dataclasses
import math
import numbers
import random
import warnings

import keras
import numpy as np
import tensorflow as tf

from keras_infomin import models
from keras_infomin.encoders import MLP
from keras_infomin.encoders import ConvNet
from keras_infomin.utils import check_positive


@dataclasses.dataclass(frozen=True)
class HeldOutMI:
    """What `fresh_critic_mi` measured (all values in nats).

    Attributes:
        value: mean I_NCE over the held-out batches.
        stderr: standard error of that mean over the held-out batches
            (sample standard deviation / sqrt(batches)).
        cap: `log(batch_size)`, the most InfoNCE can read at this batch.
        batch_values: I_NCE of every held-out batch.
        train_value: mean I_NCE over as many training batches, read the
            same way; far above `value`, the critic has memorised its
            training images.
        steps: training steps of the fresh critic.
        batch_size: batch size of training and evaluation.

    `float(result)` is `result.value`.
    """

    value: float
    stderr: float
    cap: float
    batch_values: tuple
    train_value: float
    steps: int
    batch_size: int

    def __float__(self):
        return float(self.value)

    def __str__(self):
        return (
            f"{self.value:.3f} +- {self.stderr:.3f} nats (cap "
            f"{self.cap:.2f}, {len(self.batch_values)} held-out batches)"
        )


@contextlib.contextmanager
def seeded(seed):
    """Runs the block under `keras.utils.set_random_seed(seed)`.

    Python's and NumPy's global random streams are put back afterwards, so
    that a measurement in the middle of someone else's training (a
    callback) does not replay their randomness. TensorFlow's global seed
    and Keras' global seed generator stay reset.
    """
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


class FixedViews(keras.layers.Layer):
    """A layer calling a view function whose weights must not train.

    The function is kept in a closure, out of Keras' tracking, so the
    trainer that holds this layer never sees (nor updates) its variables.
    Keras layers are called with `training=True`: random views are drawn
    as in training, whatever mode the trainer runs in; other callables
    receive the images alone. Not serializable (it holds a closure).
    """

    def __init__(self, views, **kwargs):
        kwargs.setdefault("name", "fixed_views")
        super().__init__(trainable=False, **kwargs)
        self._is_layer = is_layer = isinstance(views, keras.layers.Layer)

        def call_views(images, training=True):
            out = (
                views(images, training=training) if is_layer else views(images)
            )
            if not isinstance(out, (tuple, list)) or len(out) < 2:
                raise ValueError(
                    "The view function must return a tuple of at least two "
                    f"views; received {type(out).__name__}."
                )
            return tuple(out)

        self._call_views = call_views
        self._wrapped = lambda: views  # a closure: not tracked either

    @property
    def function(self):
        """The view function this layer calls."""
        return self._wrapped()

    def call(self, images, training=None):
        return self._call_views(images)

    def compute_output_spec(self, images, training=None):
        if self._is_layer:
            # Shapes only: the inference path keeps random draws out of
            # Keras' symbolic scratch graph.
            return self._call_views(images, training=False)
        return super().compute_output_spec(images)


def _frozen_copy(layer, sample):
    """A copy of `layer` (config and weights) that cannot affect it.

    Returns the layer itself, with a warning, when it cannot be rebuilt
    from its config (an unregistered custom layer).
    """
    try:
        clone = keras.saving.deserialize_keras_object(
            keras.saving.serialize_keras_object(layer)
        )
        clone(sample, training=True)
        clone.set_weights(layer.get_weights())
    except Exception as error:  # noqa: BLE001 - any failure: use in place
        warnings.warn(
            f"Could not copy the view layer {layer.name!r} ({error}); the "
            "fresh critic calls it in place, so its random state advances "
            "and repeated measurements are not reproducible.",
            stacklevel=3,
        )
        return layer
    return clone


def default_encoder(view_shape, output_dim=64):
    """A small fresh encoder for views of `view_shape` (batch axis first).

    Images (`[B, H, W, C]`): `ConvNet(filters=(32, 64), kernel_size=3,
    strides=2, output_dim)`; vectors (`[B, D]`): `MLP((128,), output_dim)`.
    """
    rank = len(view_shape)
    if rank == 4:
        return ConvNet(
            filters=(32, 64), kernel_size=3, strides=2, output_dim=output_dim
        )
    if rank == 2:
        return MLP((128,), output_dim=output_dim)
    raise ValueError(
        f"No default encoder for views of shape {tuple(view_shape)}: pass "
        "`encoder_factory`, a function returning a fresh Keras encoder."
    )


def _split(images, held_out, rng):
    if isinstance(held_out, numbers.Real) and not isinstance(held_out, bool):
        if not 0.0 < held_out < 1.0:
            raise ValueError(
                "`held_out` must be a fraction in (0, 1) or an array of "
                f"held-out images; received held_out={held_out!r}."
            )
        order = rng.permutation(len(images))
        cut = len(images) - int(round(held_out * len(images)))
        return images[order[:cut]], images[order[cut:]]
    held = np.asarray(held_out)
    if held.shape[1:] != images.shape[1:]:
        raise ValueError(
            "The held-out images must have the shape of `images` after the "
            f"batch axis: {held.shape[1:]} vs {images.shape[1:]}."
        )
    return images[rng.permutation(len(images))], held


def training_stream(data, batch_size, seed):
    """`data` (an array or a tuple of them) reshuffled every pass, repeated
    and batched in full batches: what the fresh critics train on."""
    rows = len(tf.nest.flatten(data)[0])
    return (
        tf.data.Dataset.from_tensor_slices(data)
        .shuffle(rows, seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(batch_size, drop_remainder=True)
    )


def _batch_values(model, images, batch_size, limit=None):
    count = len(images) // batch_size
    if limit is not None:
        count = min(count, limit)
    values = []
    for b in range(count):
        batch = images[b * batch_size : (b + 1) * batch_size]
        logs = model.test_on_batch(batch, return_dict=True)
        values.append(float(logs["mi"]))
    return values


def fresh_critic_mi(
    views,
    images,
    encoder_factory=None,
    steps=200,
    batch_size=64,
    held_out=0.5,
    learning_rate=1e-3,
    critic=None,
    seed=0,
    verbose=0,
):
    """Held-out I_NCE between views, read by freshly trained encoders.

    New encoders (one per view) and a critic are trained with the InfoNCE
    bound for `steps` steps on one part of `images`, through the fixed
    view function, by a `models.ContrastiveModel` through `fit`; the bound
    is then read on the held-out part, batch by batch:

        I_NCE = mean_i [ f(v1_i, v2_i) - log sum_j exp f(v1_i, v2_j) ]
                + log N,   N = batch_size,

    averaged over the held-out batches (over view pairs for more than two
    views). It is a lower bound of I(v1; v2) up to estimation error, and
    never exceeds `log N` (`cap`). Views that share nothing read about 0
    (the held-out value can be slightly negative); identical views near
    `log N`.

    The view function is held fixed: a Keras layer is copied (config and
    weights; random layers draw with the copy's own seed), so neither its
    weights nor its random state change; any other callable is called as
    it is, its variables out of the trainer's reach. Layers are called
    with `training=True`, so random view layers draw as in training.

    Uncertainty: `stderr` is the spread of the held-out value over the
    held-out batches for this one trained critic. Retraining with other
    seeds varies more; run several seeds for that.

    Args:
        views: the view function: a view layer (`views.Views(...)`,
            `views.ChannelSplit`, a frozen generator) or any callable from
            an image batch to a tuple of views.
        images: array `[N, ...]` of inputs to the view function.
        encoder_factory: function returning a fresh encoder, called once
            per view; default `default_encoder` (a small `ConvNet` for image
            views, an `MLP` for vectors).
        steps: training steps of the fresh critic.
        batch_size: batch size of training and evaluation (`cap = log
            batch_size`); the held-out part must hold at least two
            batches.
        held_out: fraction of `images` held out for the estimate, or an
            array of held-out images (then all of `images` trains).
        learning_rate: Adam learning rate of the fresh encoders.
        critic: optional critic (layer or name) of the `ContrastiveModel`;
            default cosine `InnerProduct` at temperature 0.1.
        seed: seeds the split, the initial weights, the batches and the
            copied view layer's draws: the same seed gives the same value.
        verbose: Keras verbosity of the training (1: a progress bar).

    Returns:
        A `HeldOutMI`: `value`, `stderr`, `cap`, `batch_values`,
        `train_value`, `steps`, `batch_size`.

    References:
        van den Oord et al., Representation Learning with Contrastive
        Predictive Coding, 2018 (InfoNCE). Tian et al., What Makes for Good
        Views for Contrastive Learning?, NeurIPS 2020 (I_NCE between
        views, Sec. 3).

    Example:

    >>> split = keras_infomin.views.ChannelSplit("lab")
    >>> result = fresh_critic_mi(split, images, steps=300)
    >>> print(result)
    1.234 +- 0.021 nats (cap 4.16, 16 held-out batches)
    """
    if not callable(views):
        raise TypeError(
            "`views` must be a view layer or a callable from images to a "
            f"tuple of views; received {type(views).__name__}."
        )
    if encoder_factory is not None and not callable(encoder_factory):
        raise TypeError(
            "`encoder_factory` must be a function returning a fresh encoder; "
            f"received {type(encoder_factory).__name__}."
        )
    for name, value in (("steps", steps), ("batch_size", batch_size)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(
                f"`{name}` must be a positive int; received {name}={value!r}."
            )
    check_positive("learning_rate", learning_rate)
    images = np.asarray(images)
    if images.ndim < 2 or not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            "`images` must be a float array [N, ...]; received dtype "
            f"{images.dtype} and shape {images.shape}."
        )
    rng = np.random.default_rng(seed)
    train, test = _split(images, held_out, rng)
    if len(test) < 2 * batch_size:
        raise ValueError(
            f"The held-out part holds {len(test)} images: at least two "
            f"batches of {batch_size} are needed for the estimate and its "
            "spread. Pass more images, a smaller `batch_size` or a larger "
            "`held_out`."
        )
    if len(train) < batch_size:
        raise ValueError(
            f"The training part holds {len(train)} images, fewer than one "
            f"batch of {batch_size}. Pass more images or a smaller "
            "`held_out`."
        )
    if isinstance(views, FixedViews):
        views = views.function
    with seeded(seed):
        sample = tf.constant(train[:2])
        if isinstance(views, keras.layers.Layer):
            views = _frozen_copy(views, sample)
        view_layer = FixedViews(views)
        shapes = [tuple(v.shape) for v in view_layer(sample)]
        if encoder_factory is None:
            encoders = [default_encoder(s) for s in shapes]
        else:
            encoders = [encoder_factory() for _ in shapes]
        model = models.ContrastiveModel(
            encoder=encoders,
            critic=critic,
            num_views=len(shapes),
            view_layer=view_layer,
        )
        model.compile(optimizer=keras.optimizers.Adam(learning_rate))
        model.fit(
            training_stream(train, batch_size, seed),
            epochs=1,
            steps_per_epoch=steps,
            shuffle=False,
            verbose=verbose,
        )
        held = _batch_values(model, test, batch_size)
        seen = _batch_values(model, train, batch_size, limit=len(held))
    values = np.asarray(held)
    return HeldOutMI(
        value=float(values.mean()),
        stderr=float(values.std(ddof=1) / math.sqrt(len(values))),
        cap=math.log(batch_size),
        batch_values=tuple(held),
        train_value=float(np.mean(seen)),
        steps=steps,
        batch_size=batch_size,
    )
