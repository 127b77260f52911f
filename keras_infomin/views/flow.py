"""`FlowViewGenerator`: learned views from an invertible pixel-wise flow."""

import keras
from keras import ops

from keras_infomin.encoders.realnvp import RealNVP
from keras_infomin.utils import register
from keras_infomin.views.color_spaces import ColorSpace
from keras_infomin.views.color_spaces import _check_space


@register
class FlowViewGenerator(keras.layers.Layer):
    """An invertible flow on each pixel's colour, split into two views.

    InfoMin's view generator: `g` maps every pixel's 3 colour values
    through a RealNVP flow whose coupling networks act per pixel (Dense
    layers on the channel axis, i.e. 1x1 convolutions), so it may change
    the colour space but never the spatial layout. Its output channels are
    split into views, by default channel 0 against channels 1:3, the
    `g(X)_1` and `g(X)_2:3` of the paper. Started near the identity, the
    views begin as a plain channel split of `input_space`.

    Volume-preserving (`coupling="additive"`, log-det exactly 0) and
    non-volume-preserving (`"affine"`) flows are available; the flow is
    exactly invertible, so `g` never destroys information about the image,
    only moves it between the views.

    Args:
        num_couplings: coupling layers of the flow.
        hidden_units: widths of each coupling network.
        coupling: `"affine"` or `"additive"` (volume preserving).
        input_space: colour space the flow starts from (`"rgb"`,
            `"ydbdr"`, `"lab"`, ...); images are given in RGB [0, 1] and
            converted (channels normalised to about [0, 1]).
        split: channel groups of the views, e.g. `((0,), (1, 2))`.
        init_std: std of the coupling networks' last layer (near identity).
        seed: seed of the flow's fixed permutations.

    Example:

    ```python
    generator = FlowViewGenerator(input_space="ydbdr")
    v1, v2 = generator(images)            # [B, H, W, 1], [B, H, W, 2]
    y, log_det = generator.transform(images, return_log_det=True)
    rgb = generator.inverse(y)             # == images
    ```
    """

    def __init__(
        self,
        num_couplings=4,
        hidden_units=(32, 32),
        coupling="affine",
        input_space="rgb",
        split=((0,), (1, 2)),
        init_std=1e-3,
        seed=0,
        **kwargs,
    ):
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
        self.num_couplings = num_couplings
        self.hidden_units = tuple(hidden_units)
        self.coupling = coupling
        self.init_std = init_std
        self.seed = seed
        self.flow = RealNVP(
            num_couplings=num_couplings,
            hidden_units=self.hidden_units,
            coupling=coupling,
            init_std=init_std,
            permutation="random",
            seed=seed,
            name="flow",
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
        self.flow.build(tuple(input_shape))

    def transform(self, images, return_log_det=False):
        """`g(X)`: the flow's output `[B, H, W, 3]` (and log|det| per image)."""
        images = ops.convert_to_tensor(images)
        self._check(images.shape)
        x = images if self.to_space is None else self.to_space(images)
        y, log_det = self.flow.forward_and_log_det(x)
        return (y, log_det) if return_log_det else y

    def views_of(self, y):
        """Splits a flow output into the view tensors."""
        return tuple(
            ops.take(y, list(group), axis=-1)
            if len(group) > 1
            else y[..., group[0] : group[0] + 1]
            for group in self.split
        )

    def call(self, images, training=False):
        return self.views_of(self.transform(images))

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
        config.update(
            num_couplings=self.num_couplings,
            hidden_units=list(self.hidden_units),
            coupling=self.coupling,
            input_space=self.input_space,
            split=[list(g) for g in self.split],
            init_std=self.init_std,
            seed=self.seed,
        )
        return config
