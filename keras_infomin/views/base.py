"""The template of the view layers, and the per-sample switch they share.

Every layer of `keras_infomin.views` that makes views of images derives
from `ViewLayer`, whose `call` owns, once for all of them:

- rank: a batch `[B, H, W, C]` or one image `[H, W, C]` (every output
  loses its batch axis again for one image);
- the training flag: `call(images, training=True)`; with `training=False`
  random layers turn into their deterministic inference form (identity
  for photometric changes, a centre crop for crops), like Keras' own
  augmentation layers. Called directly (e.g. in a `tf.data` map) the
  default is `True`;
- dtype: inputs are float tensors of any precision; the work is done in
  float32 whatever the dtype policy (the image kernels need it, and the
  8-bit operations of RandAugment need its precision), and float outputs
  come back in the layer's compute dtype: float32 by default, bfloat16
  under `keras.mixed_precision.set_global_policy("mixed_bfloat16")`,
  float16 under `"mixed_float16"` (Keras' augmentation layers do the
  same). Inputs are not autocast on the way in;
- value range: `value_range=(low, high)` is the range the incoming images
  have, as in Keras' layers; the layers work on `(x - low) / (high - low)`
  in [0, 1] and map their outputs back, so outputs lie in the same range.
  Values outside `value_range` (beyond a tolerance of 1e-3 of its width)
  or not finite raise an error that names the range; values within the
  tolerance are clipped. The default `None` means `(0, 1)`, or for a
  container the range its view layers were given (a range is given once:
  layers that disagree raise an error). Layers that only move pixels
  (crops, flips, `JigSaw`, `PatchPair`, and containers of them) take any
  values unless a range is given to them;
- channels: each layer says which channel counts it takes
  (`supported_channels`, `check_channels`); the error names the layer.

A layer implements `transform(images, training)` on a float32 batch in
[0, 1]. Random layers (`RandomViewLayer`) implement two smaller pieces
instead, as Keras' `BaseImagePreprocessingLayer` does: drawing their
random parameters per sample (`sample_parameters`) and applying them
(`augment`); `inference_parameters` gives the parameters of the
inference form when it is not the identity. Containers (`Compose`,
`RandomApply`, `RandomChoice`, `Views`, `JigSaw`'s `tile_transform`) hand
their view layers the batch in [0, 1] through `transform` directly, so the
checks and conversions happen once, at the outermost layer; Keras layers
and plain callables inside them receive the images in the container's
`value_range` and dtype float32.

Random parameters are drawn as tensors from a `keras.random.SeedGenerator`
whose seed is folded with the replica id
(`keras_infomin.utils.random.draw_seed`), so views differ between the
replicas of a `tf.distribute.MirroredStrategy`.

`switch_per_sample` applies a different function to each sample of a
batch without a Python loop over the batch; a branch never runs on an
empty part of the batch, so no layer depends on how a kernel treats empty
tensors.
"""

import math

import keras
import tensorflow as tf

from keras_infomin.utils import random as random_utils
from keras_infomin.utils.validation import check_float_tensor

UNIT_RANGE = (0.0, 1.0)
# Values this fraction of the range's width outside it are clipped, not
# refused (rounding of the caller's own rescaling).
RANGE_TOLERANCE = 1e-3


def standardize_images(images, name="images"):
    """Checks an image tensor's rank and dtype and returns it batched.

    Args:
        images: float tensor `[B, H, W, C]` or `[H, W, C]`.
        name: the argument's name, for error messages.

    Returns:
        `(images, unbatched)`: a rank-4 float tensor and whether the input
        had rank 3.

    Raises:
        ValueError: wrong rank or unknown channel count.
        TypeError: non-float dtype.
    """
    images = check_float_tensor(name, images)
    check_shape(name, tuple(images.shape))
    if images.shape.rank == 3:
        return images[None], True
    return images, False


def check_shape(name, input_shape):
    """Static checks of `standardize_images`: rank 3 or 4, known channels."""
    input_shape = tuple(input_shape)
    if len(input_shape) not in (3, 4):
        raise ValueError(
            f"`{name}` must be a batch of images of shape [batch, height, "
            f"width, channels] or one image of shape [height, width, "
            f"channels]; received shape {input_shape} (rank "
            f"{len(input_shape)}). For single-channel 2-D arrays add a "
            f"channel axis, e.g. images[..., None]."
        )
    if input_shape[-1] is None:
        raise ValueError(
            f"`{name}` must have a known number of channels (last axis); "
            f"received shape {input_shape}."
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


def check_value_range(value_range):
    """`None` or a pair `(low, high)` of finite numbers with `low < high`."""
    if value_range is None:
        return None
    ok = isinstance(value_range, (tuple, list)) and len(value_range) == 2
    ok = ok and all(
        isinstance(v, (int, float))
        and not isinstance(v, bool)
        and math.isfinite(v)
        for v in value_range
    )
    ok = ok and value_range[0] < value_range[1]
    if not ok:
        raise ValueError(
            "`value_range` must be None or a pair (low, high) of finite "
            "numbers with low < high, the range of the incoming images, "
            f"e.g. (0, 1) or (0, 255); received value_range={value_range!r}."
        )
    return (float(value_range[0]), float(value_range[1]))


def check_values(images, value_range, name):
    """Returns `images` once checked to lie in `value_range`.

    Raises `ValueError` (eagerly) or `InvalidArgumentError` (in a graph)
    when a value lies outside the range by more than `RANGE_TOLERANCE` of
    its width, or is not finite.
    """
    low, high = value_range
    tol = RANGE_TOLERANCE * (high - low)
    inside = tf.reduce_all((images >= low - tol) & (images <= high + tol))
    message = (
        f"{name}: the images have values outside value_range=({low:g}, "
        f"{high:g}) or values that are not finite. Pass the range the "
        "images are in as `value_range`, e.g. value_range=(0, 255) for "
        "8-bit levels, or rescale them."
    )
    lowest, highest = tf.reduce_min(images), tf.reduce_max(images)
    if tf.executing_eagerly():
        if not bool(inside):
            raise ValueError(
                f"{message} Received values from {float(lowest):g} to "
                f"{float(highest):g}."
            )
        return images
    check = tf.debugging.Assert(
        inside, [message, "min:", lowest, "max:", highest]
    )
    with tf.control_dependencies([check]):
        return tf.identity(images)


def to_unit(images, value_range):
    """Maps `value_range` to [0, 1]."""
    if value_range == UNIT_RANGE:
        return images
    low, high = value_range
    return (images - low) / (high - low)


def from_unit(images, value_range):
    """Maps [0, 1] back to `value_range`."""
    if value_range == UNIT_RANGE:
        return images
    low, high = value_range
    return images * (high - low) + low


def as_transform(name, value):
    """Checks one view transform (a layer or a callable)."""
    if not callable(value):
        raise TypeError(
            f"`{name}` must be a Keras layer or a callable on a batch of "
            f"images; received {name}={value!r}."
        )
    return value


def as_transforms(name, values):
    """Checks a non-empty list of view transforms."""
    if not isinstance(values, (list, tuple)) or not values:
        raise TypeError(
            f"`{name}` must be a non-empty list of Keras layers or "
            f"callables; received {name}={values!r}."
        )
    return [as_transform(f"{name}[{k}]", v) for k, v in enumerate(values)]


def apply_transform(transform, images, training, value_range=UNIT_RANGE):
    """Applies a container's child to a float32 batch in [0, 1].

    View layers get the batch as it is (`transform`); other Keras layers
    (which receive `training`) and plain callables get it in
    `value_range`, and their float outputs are mapped back to [0, 1] in
    float32.
    """
    if isinstance(transform, ViewLayer):
        return transform.transform(images, training)
    x = from_unit(images, value_range)
    if isinstance(transform, keras.layers.Layer):
        out = transform(x, training=training)
    else:
        out = transform(x)

    def back(t):
        t = tf.convert_to_tensor(t)
        if not t.dtype.is_floating:
            return t
        return to_unit(tf.cast(t, tf.float32), value_range)

    return tf.nest.map_structure(back, out)


def transform_output_shape(transform, input_shape):
    """A child's output shape (the input's for callables without one)."""
    if hasattr(transform, "compute_output_shape"):
        try:
            return transform.compute_output_shape(input_shape)
        except NotImplementedError:
            pass
    return input_shape


def build_transform(transform, input_shape):
    """Builds a child layer that defines its own `build` and is not built.

    Layers without a `build` of their own (plain callables, many keras-cv
    layers) are left to build on their first call.
    """
    if not isinstance(transform, keras.layers.Layer) or transform.built:
        return
    if type(transform).build is keras.layers.Layer.build:
        return
    transform.build(input_shape)


def serialize(obj):
    """Serializes a transform (or a list of them) for `get_config`."""
    if isinstance(obj, (list, tuple)):
        return [keras.saving.serialize_keras_object(o) for o in obj]
    return keras.saving.serialize_keras_object(obj)


def deserialize(config):
    """Inverse of `serialize`."""
    if isinstance(config, (list, tuple)):
        return [keras.saving.deserialize_keras_object(c) for c in config]
    return keras.saving.deserialize_keras_object(config)


def switch_per_sample(branch_index, inputs, branches, output_shape=None):
    """Applies `branches[branch_index[i]]` to sample `i`, vectorised.

    The batch is split with `tf.dynamic_partition`, each part goes through
    its branch, and `tf.dynamic_stitch` puts the results back in order, so
    each sample is computed once, whatever the number of branches. A
    branch runs only when its part is not empty (a `tf.cond` on the part's
    size; eagerly, a plain skip): no branch ever receives an empty batch,
    so the result never depends on how a kernel treats empty tensors
    (some oneDNN kernels return wrong shapes for them). Layers that use it
    set `supports_jit = False` (the part sizes are data dependent).

    Args:
        branch_index: int tensor `[B]` with values in `[0, len(branches))`.
        inputs: a tensor `[B, ...]` or a (nested) tuple of such tensors
            sharing the batch axis (per-sample parameters ride along).
        branches: list of callables; each takes a non-empty part of
            `inputs` (same structure) and returns one tensor `[b, ...]`.
            `None` returns the first input tensor unchanged.
        output_shape: None when every branch returns the first input's
            shape; otherwise the branches' common output shape after the
            batch axis, whose entries may be None where unknown. The
            result of a branch with an empty part is then an empty tensor
            of that shape; when an entry is unknown it is read from the
            branch's output on the batch's first sample (the only case
            where a branch computes a sample it does not own; such a
            switch needs a non-empty batch).

    Returns:
        Tensor `[B, ...]` of the first input's dtype: the branch outputs in
        the original sample order.

    Example:

    ```python
    index = tf.constant([0, 1, 1, 0])
    out = switch_per_sample(index, images, [None, lambda x: 1.0 - x])
    ```
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
        own = parts[0][k]
        if branch is None:
            outputs.append(own)
            continue
        sub = tf.nest.pack_sequence_as(inputs, [p[k] for p in parts])

        def run(branch=branch, sub=sub):
            return tf.cast(tf.convert_to_tensor(branch(sub)), first.dtype)

        outputs.append(
            tf.cond(
                tf.size(positions[k]) > 0,
                run,
                lambda own=own, branch=branch: _empty_result(
                    own, inputs, branch, output_shape
                ),
            )
        )
    return tf.dynamic_stitch(positions, outputs)


def _empty_result(own, inputs, branch, output_shape):
    """What a branch gives for an empty part (see `switch_per_sample`)."""
    if output_shape is None:
        return own
    if all(d is not None for d in output_shape):
        return tf.zeros([0, *output_shape], own.dtype)
    first = tf.nest.flatten(inputs)[0]
    check = tf.debugging.assert_positive(
        tf.shape(first)[0],
        message="switch_per_sample: branches of unknown output shape need "
        "a non-empty batch.",
    )
    with tf.control_dependencies([check]):
        one = tf.nest.map_structure(lambda t: tf.identity(t[:1]), inputs)
    return tf.cast(tf.convert_to_tensor(branch(one)), own.dtype)[:0]


class ViewLayer(keras.layers.Layer):
    """Base class of the view layers: `call` owns rank, dtype, value range.

    See the module docstring for what `call` does. A subclass implements
    `transform(images, training)`, mapping a float32 batch `[B, H, W, C]`
    in [0, 1] to its outputs (a tensor or a tuple); float outputs are
    mapped back to `value_range` and cast to the compute dtype, integer
    outputs (indices, permutations) pass as they are. Containers list
    their children in `nested` (constructor argument -> attribute); the
    base serializes and deserializes them and resolves the value range
    with them.

    Args:
        value_range: `(low, high)`, the range of the incoming images, or
            None: (0, 1), or for a container its view layers' range.
        **kwargs: `keras.layers.Layer` arguments (name, dtype, ...).
    """

    # Constructor arguments holding child transforms -> attribute names.
    nested = {}
    # Channel counts the layer takes (None: any).
    supported_channels = None
    # Whether the layer changes pixel values (and so needs their range);
    # layers that only move pixels take any values.
    changes_values = True

    def __init__(self, value_range=None, **kwargs):
        kwargs.setdefault("autocast", False)
        super().__init__(**kwargs)
        self.value_range = check_value_range(value_range)
        self.supports_jit = False

    # ----------------------------------------------------------- children
    def children(self):
        """The child transforms (layers or callables), in order."""
        out = []
        for attribute in self.nested.values():
            value = getattr(self, attribute, None)
            if value is None:
                continue
            out.extend(value if isinstance(value, (list, tuple)) else [value])
        return out

    def declared_range(self):
        """The value range given to this layer or to its view layers
        (None when none was); raises when they disagree."""
        ranges = {
            child.declared_range()
            for child in self.children()
            if isinstance(child, ViewLayer)
        } - {None}
        if self.value_range is not None:
            other = ranges - {self.value_range}
            if other:
                raise ValueError(
                    f"{self.name} has value_range={self.value_range} but "
                    f"contains view layers with value_range {sorted(other)};"
                    " give the range once, to the outermost layer."
                )
            return self.value_range
        if len(ranges) > 1:
            raise ValueError(
                f"The view layers inside {self.name} were given different "
                f"value ranges {sorted(ranges)}; give the range once, to "
                "the outermost layer."
            )
        return ranges.pop() if ranges else None

    def needs_range(self):
        """Whether `call` checks and rescales the values: a range was
        given, or this layer or one of its view layers changes values."""
        return (
            self.declared_range() is not None
            or self.changes_values
            or any(
                child.needs_range()
                for child in self.children()
                if isinstance(child, ViewLayer)
            )
        )

    def resolve_value_range(self):
        """The range `call` works with: the declared one, or (0, 1)."""
        declared = self.declared_range()
        return UNIT_RANGE if declared is None else declared

    # ------------------------------------------------------------ shapes
    def check_channels(self, channels):
        """Raises `ValueError` unless the layer takes `channels`."""
        allowed = self.supported_channels
        if allowed is not None and channels not in allowed:
            names = " or ".join(str(c) for c in allowed)
            raise ValueError(
                f"{type(self).__name__} ({self.name}) takes images with "
                f"{names} channels; received {channels}."
            )

    def check_input_shape(self, input_shape):
        """Static checks of an input shape, children included."""
        input_shape = check_shape("images", input_shape)
        self.check_channels(input_shape[-1])
        for child, shape in self.child_input_shapes(input_shape):
            if isinstance(child, ViewLayer):
                child.check_input_shape(shape)
        return input_shape

    def child_input_shapes(self, input_shape):
        """`(child, input shape)` pairs; by default every child gets the
        layer's input shape (`Compose` chains them)."""
        return [(child, input_shape) for child in self.children()]

    def build(self, input_shape):
        input_shape = self.check_input_shape(input_shape)
        self.resolve_value_range()
        for child, shape in self.child_input_shapes(input_shape):
            if isinstance(child, ViewLayer):
                if not child.built:
                    child.build(shape)
            else:
                build_transform(child, shape)
        self.built = True

    def compute_output_shape(self, input_shape):
        return input_shape

    # --------------------------------------------------------------- call
    def transform(self, images, training):
        """Maps a float32 batch in [0, 1] to the layer's outputs."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `transform`."
        )

    def call(self, images, training=True):
        images, unbatched = standardize_images(images)
        self.check_input_shape(tuple(images.shape))
        value_range = self.resolve_value_range()
        x = tf.cast(images, tf.float32)
        rescale = self.needs_range()
        if rescale:
            x = check_values(x, value_range, self.name)
            x = tf.clip_by_value(to_unit(x, value_range), 0.0, 1.0)
        outputs = self.transform(x, training)

        def finish(t):
            if t.dtype.is_floating:
                if rescale:
                    t = from_unit(t, value_range)
                t = tf.cast(t, self.compute_dtype)
            return t[0] if unbatched else t

        return tf.nest.map_structure(finish, outputs)

    # ------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config["value_range"] = (
            None if self.value_range is None else list(self.value_range)
        )
        for key, attribute in self.nested.items():
            value = getattr(self, attribute)
            config[key] = None if value is None else serialize(value)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in cls.nested:
            if config.get(key) is not None:
                config[key] = deserialize(config[key])
        return super().from_config(config)


class RandomViewLayer(ViewLayer):
    """Base class of the random view layers.

    `transform` draws the random parameters of a batch
    (`sample_parameters(images, seed)`, a fresh seed per call) and applies
    them (`augment(images, parameters, training)`). In inference
    (`training=False`) `inference_parameters(images)` gives the
    deterministic parameters; when it returns None (the default) the
    images pass unchanged.

    Args:
        seed: optional Python int for reproducible draws (it travels in
            the config).
        value_range: see `ViewLayer`.
        **kwargs: `keras.layers.Layer` arguments (name, dtype, ...).
    """

    def __init__(self, seed=None, value_range=None, **kwargs):
        super().__init__(value_range=value_range, **kwargs)
        self.seed = seed
        self.seed_generator = random_utils.make_seed_generator(seed)

    def draw_seed(self, num=None):
        """One seed (`num=None`) or a list of `num` independent seeds."""
        seed = random_utils.draw_seed(self.seed_generator)
        if num is None:
            return seed
        return random_utils.split_seed(seed, num)

    def sample_parameters(self, images, seed):
        """Random parameters of the batch (per-sample tensors)."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `sample_parameters`."
        )

    def inference_parameters(self, images):
        """Parameters of the inference form; None: the identity."""
        return None

    def augment(self, images, parameters, training):
        """Applies `parameters` to the float32 batch in [0, 1]."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement `augment`."
        )

    def transform(self, images, training):
        if training:
            parameters = self.sample_parameters(images, self.draw_seed())
        else:
            parameters = self.inference_parameters(images)
            if parameters is None:
                return images
        outputs = self.augment(images, parameters, training)
        if not self.changes_values:
            return outputs
        # Rounding can leave a value a few ulps past the range.
        return tf.nest.map_structure(
            lambda t: tf.clip_by_value(t, 0.0, 1.0), outputs
        )

    def get_config(self):
        config = super().get_config()
        config["seed"] = self.seed
        return config
