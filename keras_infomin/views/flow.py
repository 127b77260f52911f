"""`FlowViewGenerator`: learned views from an invertible pixel-wise flow."""

import keras
from keras import ops

from keras_infomin.utils import register
from keras_infomin.views.base import deserialize
from keras_infomin.views.base import serialize
from keras_infomin.views.color_spaces import ColorSpace
from keras_infomin.views.color_spaces import _check_space

# Arguments of the generator before it received its flow, and the flow
# they configured (`keras_infomin.encoders.RealNVP`, registered name).
_FLOW_ARGUMENTS = ("num_couplings", "hidden_units", "coupling", "init_std")
_SAVED_FLOW = "keras_infomin>RealNVP"


@register
class FlowViewGenerator(keras.layers.Layer):
    """An invertible flow on each pixel's colour, split into two views.

    InfoMin's view generator: `g` maps every pixel's 3 colour values
    through an invertible `flow` acting on the last axis (for a RealNVP,
    coupling networks of Dense layers on the channel axis, i.e. 1x1
    convolutions), so it may change the colour space but never the
    spatial layout. Its output channels are split into views, by default
    channel 0 against channels 1:3, the `g(X)_1` and `g(X)_2:3` of the
    paper. A flow started near the identity gives views that begin as a
    plain channel split of `input_space`.

    The flow is exactly invertible, so `g` never destroys information
    about the image, only moves it between the views: with
    `keras_infomin.encoders.RealNVP`, `coupling="additive"` is
    volume-preserving (log-det exactly 0) and `"affine"` is not.

    Standardised views (`standardize=True`): the flow's output channels
    are standardised before the split, with the batch's mean and variance
    while training and running averages otherwise (a batch normalisation
    without learned scale or shift and with a small epsilon, 1e-6). The
    views then keep their scale whatever `g` does, so a view game cannot
    hide information from its adversaries by shrinking or shifting a view
    (which changes no information but starves or kills their units), only
    by moving it to the other view. `transform`, `inverse` and `log_det`
    stay those of the flow itself.

    Under `MirroredStrategy` (or any `tf.distribute` strategy) the
    standardiser is synchronised: every replica standardises with the
    mean and variance of the global batch, not of its own share, so the
    views equal those of one device on the same batch
    (`tests/distribute/test_infomin_distributed.py`).

    The running averages start at mean 0 and variance 1 and move with
    `momentum` per training step. The default, 0.9, leaves 0.9**140 <
    1e-6 of that start after a game of 140 steps, small against a chroma
    channel's variance (about 0.003 for CIFAR-10's Db and Dr); at 0.99
    a quarter of the start would remain and the frozen generator
    (`models.frozen_generator`) would divide such a channel by about 0.5
    instead of its spread, 0.05, i.e. give other views than the game's.
    Each step's statistics already average B x H x W pixels, so the short
    memory costs no precision.

    Args:
        flow: the invertible layer on the last axis: a layer with
            `forward_and_log_det(x) -> (y, log_det [B])` and
            `inverse(y)`, e.g. `keras_infomin.encoders.RealNVP(
            num_couplings=4, hidden_units=(32, 32), coupling="affine",
            init_std=1e-3, seed=0)` (a small flow near the identity).
        input_space: colour space the flow starts from (`"rgb"`,
            `"ydbdr"`, `"lab"`, ...); images are given in RGB [0, 1] and
            converted (channels normalised to about [0, 1]).
        split: channel groups of the views, e.g. `((0,), (1, 2))`.
        standardize: standardise the flow's output channels (see above).
        momentum: momentum of the running statistics of `standardize`
            (0.9; it was 0.99 before, and saved generators keep theirs).
        **kwargs: `keras.layers.Layer` arguments.

    Example:

    ```python
    flow = keras_infomin.encoders.RealNVP(
        4, (32, 32), coupling="affine", init_std=1e-3, seed=0
    )
    generator = FlowViewGenerator(flow, input_space="ydbdr")
    v1, v2 = generator(images)            # [B, H, W, 1], [B, H, W, 2]
    y, log_det = generator.transform(images, return_log_det=True)
    rgb = generator.inverse(y)             # == images
    ```
    """

    def __init__(
        self,
        flow=None,
        input_space="rgb",
        split=((0,), (1, 2)),
        standardize=False,
        momentum=0.9,
        **kwargs,
    ):
        old = sorted(set(kwargs) & set(_FLOW_ARGUMENTS + ("seed",)))
        if flow is None or old:
            raise TypeError(
                "FlowViewGenerator takes its flow as its first argument "
                "(an invertible layer on the channel axis) instead of "
                f"building one{' from ' + str(old) if old else ''}; pass "
                "e.g. FlowViewGenerator(keras_infomin.encoders.RealNVP("
                "num_couplings=4, hidden_units=(32, 32), "
                'coupling="affine", init_std=1e-3, seed=0)).'
            )
        for method in ("forward_and_log_det", "inverse"):
            if not callable(getattr(flow, method, None)):
                raise TypeError(
                    "`flow` must be an invertible layer with "
                    "`forward_and_log_det(x)` and `inverse(y)`, such as "
                    "keras_infomin.encoders.RealNVP; received "
                    f"{type(flow).__name__} without `{method}`."
                )
        super().__init__(**kwargs)
        self.input_space = _check_space("input_space", input_space)
        groups = tuple(tuple(int(c) for c in group) for group in split)
        flat = sorted(c for group in groups for c in group)
        if len(groups) < 2 or flat != [0, 1, 2]:
            raise ValueError(
                "`split` must divide the 3 channels into at least two "
                f"disjoint groups covering all of them, e.g. ((0,), (1, 2)); "
                f"received {split!r}."
            )
        self.split = groups
        self.flow = flow
        self.standardize = bool(standardize)
        self.momentum = float(momentum)
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(
                f"`momentum` must lie in [0, 1); received {momentum!r}."
            )
        self.standardizer = None
        if self.standardize:
            self.standardizer = keras.layers.BatchNormalization(
                momentum=self.momentum,
                epsilon=1e-6,
                center=False,
                scale=False,
                synchronized=True,
                dtype=self.dtype_policy,
                name="standardize",
            )
        if self.input_space == "rgb":
            self.to_space = None
            self.from_space = None
        else:
            self.to_space = ColorSpace(input_space, normalize=True)
            self.from_space = ColorSpace(
                input_space, inverse=True, normalize=True
            )

    def _check(self, shape):
        if len(shape) != 4 or shape[-1] != 3:
            raise ValueError(
                "FlowViewGenerator expects RGB images [batch, height, width, "
                f"3]; received shape {tuple(shape)}."
            )

    def build(self, input_shape):
        self._check(input_shape)
        if not self.flow.built:
            self.flow.build(tuple(input_shape))
        if self.standardizer is not None and not self.standardizer.built:
            self.standardizer.build(tuple(input_shape))
        self.built = True

    def transform(self, images, return_log_det=False):
        """`g(X)`: the flow's output `[B, H, W, 3]` (and log|det| per image)."""
        images = ops.convert_to_tensor(images)
        self._check(images.shape)
        if not self.built:
            self.build(tuple(images.shape))
        x = images if self.to_space is None else self.to_space(images)
        y, log_det = self.flow.forward_and_log_det(x)
        return (y, log_det) if return_log_det else y

    def views_of(self, y, training=False):
        """Splits a flow output into the view tensors (standardised first
        with `standardize`: batch statistics when `training`)."""
        if self.standardizer is not None:
            y = self.standardizer(y, training=training)
        return tuple(
            ops.take(y, list(group), axis=-1)
            if len(group) > 1
            else y[..., group[0] : group[0] + 1]
            for group in self.split
        )

    def call(self, images, training=False):
        return self.views_of(self.transform(images), training=training)

    def inverse(self, y):
        """Recovers the RGB images from a flow output `y = g(X)`."""
        x = self.flow.inverse(y)
        return x if self.from_space is None else self.from_space(x)

    def log_det(self, images):
        """Per-image log|det dg/dx| (0 for the additive flow)."""
        return self.transform(images, return_log_det=True)[1]

    def compute_output_shape(self, input_shape):
        return tuple(
            tuple(input_shape[:-1]) + (len(group),) for group in self.split
        )

    def get_config(self):
        config = super().get_config()
        flow = serialize(self.flow)
        flow.pop("build_config", None)  # the generator's build builds it
        config.update(
            flow=flow,
            input_space=self.input_space,
            split=[list(g) for g in self.split],
            standardize=self.standardize,
            momentum=self.momentum,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if "flow" not in config:
            # Saved before the generator received its flow: the flow it
            # built then (its defaults filled in).
            flow = {"permutation": "random", "seed": config.pop("seed", 0)}
            defaults = (4, [32, 32], "affine", 1e-3)
            for key, default in zip(_FLOW_ARGUMENTS, defaults):
                flow[key] = config.pop(key, default)
            config["flow"] = {
                "class_name": "RealNVP",
                "module": "keras_infomin.encoders.realnvp",
                "registered_name": _SAVED_FLOW,
                "config": {"name": "flow", **flow},
            }
        config["flow"] = deserialize(config["flow"])
        return super().from_config(config)
