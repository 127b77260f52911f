"""Shared machinery of the view layers: input checks, seeds, dispatch.

Every random layer of `keras_infomin.views` derives from `RandomViewLayer`:

- inputs are float images in [0, 1], shaped `[batch, height, width,
  channels]` or, for a single image, `[height, width, channels]`;
- random parameters are drawn per sample as tensors from a
  `keras.random.SeedGenerator` whose seed is folded with the replica id
  (`keras_infomin.utils.random.draw_seed`), so views differ between the
  replicas of a `tf.distribute.MirroredStrategy`;
- `call(images, training=True)`: with `training=False` random layers turn
  into their deterministic inference form (identity for photometric
  changes, a centre crop for crops), like Keras' own augmentation layers.
  Called directly (for example in a `tf.data` map) the default is `True`.

`switch_per_sample` applies a different function to each sample of a batch
without a Python loop over the batch: the batch is split with
`tf.dynamic_partition`, each part goes through its branch, and
`tf.dynamic_stitch` puts the results back in order. Each sample is computed
once, whatever the number of branches. Layers that use it set
`supports_jit = False` (the part sizes are data dependent).
"""

import keras
import tensorflow as tf

from keras_infomin.utils import random as random_utils
from keras_infomin.utils.validation import check_float_tensor


def standardize_images(images, name="images", channels=None):
    """Checks an image tensor and returns it batched.

    Args:
        images: float tensor `[B, H, W, C]` or `[H, W, C]`.
        name: the argument's name, for error messages.
        channels: required number of channels (None: any known number).

    Returns:
        `(images, unbatched)`: a rank-4 float tensor and whether the input
        had rank 3 (pass it to `restore_rank`).

    Raises:
        ValueError: wrong rank or channel count.
        TypeError: non-float dtype.
    """
    images = check_float_tensor(name, images)
    rank = images.shape.rank
    if rank not in (3, 4):
        raise ValueError(
            f"`{name}` must be a batch of images of shape [batch, height, "
            f"width, channels] or one image of shape [height, width, "
            f"channels]; received shape {tuple(images.shape)} (rank "
            f"{rank}). For single-channel 2-D arrays add a channel axis, "
            f"e.g. images[..., None]."
        )
    last = images.shape[-1]
    if last is None:
        raise ValueError(
            f"`{name}` must have a known number of channels (last axis); "
            f"received shape {tuple(images.shape)}."
        )
    if channels is not None and last != channels:
        raise ValueError(
            f"`{name}` must have {channels} channels (last axis); received "
            f"shape {tuple(images.shape)} with {last}."
        )
    if rank == 3:
        return images[None], True
    return images, False


def restore_rank(images, unbatched):
    """Undoes the batching of `standardize_images`."""
    return images[0] if unbatched else images


def check_shape(name, input_shape, channels=None):
    """Static version of `standardize_images` for `build` and shapes."""
    input_shape = tuple(input_shape)
    if len(input_shape) not in (3, 4):
        raise ValueError(
            f"`{name}` must have shape [batch, height, width, channels] or "
            f"[height, width, channels]; received shape {input_shape}."
        )
    if channels is not None and input_shape[-1] not in (None, channels):
        raise ValueError(
            f"`{name}` must have {channels} channels (last axis); received "
            f"shape {input_shape}."
        )
    return input_shape


def check_range_pair(name, value, low, high):
    """Checks `value` is a pair `(a, b)` with `low <= a <= b <= high`."""
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    ok = ok and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
    )
    ok = ok and low <= value[0] <= value[1] <= high
    if not ok:
        raise ValueError(
            f"`{name}` must be a pair (min, max) with {low} <= min <= max "
            f"<= {high}; received {name}={value!r}."
        )
    return tuple(float(v) for v in value)


def maybe_build(transform, input_shape):
    """Builds a sub-layer that defines its own `build` and is not built.

    Layers without a `build` of their own (plain callables, many keras-cv
    layers) are left to build on their first call.
    """
    if not isinstance(transform, keras.layers.Layer) or transform.built:
        return
    if type(transform).build is keras.layers.Layer.build:
        return
    transform.build(input_shape)


def call_transform(transform, inputs, training):
    """Calls a view transform (a layer or a plain callable).

    Keras layers (ours, Keras', keras-cv's) receive `training`; plain
    callables get the inputs alone.
    """
    if isinstance(transform, keras.layers.Layer):
        return transform(inputs, training=training)
    return transform(inputs)


def switch_per_sample(
    branch_index, inputs, branches, preserves_shape=True, guard_empty=True
):
    """Applies `branches[branch_index[i]]` to sample `i`, vectorised.

    Args:
        branch_index: int32 tensor `[B]` with values in
            `[0, len(branches))`.
        inputs: a tensor `[B, ...]` or a (nested) tuple of such tensors
            sharing the batch axis (per-sample parameters ride along).
        branches: list of callables; each takes the sub-batch of `inputs`
            (same structure) and returns one tensor `[b, ...]` whose shape
            after the batch axis is the same for every branch. `None`
            returns the first input tensor unchanged.
        preserves_shape: whether every branch returns the shape and dtype
            of the first input tensor. Branches are only run on non-empty
            parts (many layers fail on an empty batch); for an empty part
            the result is the empty input itself when True, else the
            branch's output on one sample, sliced to zero rows.
        guard_empty: set False when every branch is known to accept an
            empty batch: skips the `tf.cond` per branch (faster tracing).

    Returns:
        Tensor `[B, ...]`: the branch outputs in the original sample order.
    """
    num = len(branches)
    flat = tf.nest.flatten(inputs)
    first = flat[0]
    batch = tf.shape(first)[0]
    branch_index = tf.cast(branch_index, tf.int32)
    positions = tf.dynamic_partition(tf.range(batch), branch_index, num)
    parts = [tf.dynamic_partition(t, branch_index, num) for t in flat]
    outputs = []
    for k, branch in enumerate(branches):
        sub = tf.nest.pack_sequence_as(inputs, [p[k] for p in parts])
        sub_first = parts[0][k]
        if branch is None:
            outputs.append(sub_first)
            continue

        def run(branch=branch, sub=sub):
            out = tf.convert_to_tensor(branch(sub))
            return tf.cast(out, first.dtype) if preserves_shape else out

        if not guard_empty:
            outputs.append(run())
            continue
        if preserves_shape:

            def empty(sub_first=sub_first):
                return sub_first

        else:

            def empty(branch=branch):
                one = tf.nest.map_structure(lambda t: t[:1], inputs)
                return tf.convert_to_tensor(branch(one))[:0]

        out = tf.cond(tf.shape(sub_first)[0] > 0, run, empty)
        outputs.append(out)
    dtype = outputs[0].dtype
    outputs = [tf.cast(o, dtype) for o in outputs]
    return tf.dynamic_stitch(positions, outputs)


class RandomViewLayer(keras.layers.Layer):
    """Base class of the package's random view layers.

    Holds the seed and its `keras.random.SeedGenerator`; `draw_seed()`
    returns a fresh int32 `[2]` seed per call, folded with the replica id.

    Args:
        seed: optional Python int for reproducible draws.
        **kwargs: passed to `keras.layers.Layer` (name, dtype, ...).
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = random_utils.make_seed_generator(seed)
        self.supports_jit = False

    def draw_seed(self, num=None):
        """One seed (`num=None`) or a list of `num` independent seeds."""
        seed = random_utils.draw_seed(self.seed_generator)
        if num is None:
            return seed
        return random_utils.split_seed(seed, num)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({"seed": self.seed})
        return config


def serialize(obj):
    """Serializes a layer (or a list of layers) for `get_config`."""
    if isinstance(obj, (list, tuple)):
        return [keras.saving.serialize_keras_object(o) for o in obj]
    return keras.saving.serialize_keras_object(obj)


def deserialize(config):
    """Inverse of `serialize`."""
    if isinstance(config, (list, tuple)):
        return [keras.saving.deserialize_keras_object(c) for c in config]
    return keras.saving.deserialize_keras_object(config)
