"""`Views`: several independently augmented views of one batch."""

import keras

from keras_infomin.utils import register
from keras_infomin.views.base import call_transform
from keras_infomin.views.base import deserialize
from keras_infomin.views.base import maybe_build
from keras_infomin.views.base import serialize


@register
class Views(keras.layers.Layer):
    """Turns one batch into `num_views` independently transformed views.

    Each view is a separate call of its transform, so random transforms
    draw fresh parameters for every view (and every sample). The same
    transform can serve all views (SimCLR, MoCo) or each view can have its
    own (pass a list, as in BYOL's asymmetric recipe).

    Args:
        transform: a layer or callable applied for every view, or a list of
            them, one per view. Layers may be this package's, Keras' or
            keras-cv's augmentation layers.
        num_views: number of views (>= 1); with a list of transforms it
            must equal the list's length (or be left as None).
        **kwargs: `keras.layers.Layer` arguments.

    Returns:
        A tuple of `num_views` tensors.

    Example:

    ```python
    two_views = Views(InfoMinAugment(224), num_views=2)
    dataset = dataset.batch(256).map(lambda x, y: (two_views(x), y))
    ```
    """

    def __init__(self, transform, num_views=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(transform, (list, tuple)):
            transforms = list(transform)
            if not transforms:
                raise ValueError("`transform` must not be an empty list.")
            if num_views is not None and num_views != len(transforms):
                raise ValueError(
                    f"`num_views` ({num_views!r}) must equal the number of "
                    f"transforms given ({len(transforms)})."
                )
            num_views = len(transforms)
            self.shared = False
        else:
            num_views = 2 if num_views is None else num_views
            if (
                not isinstance(num_views, int)
                or isinstance(num_views, bool)
                or num_views < 1
            ):
                raise ValueError(
                    "`num_views` must be a positive int; received "
                    f"num_views={num_views!r}."
                )
            transforms = [transform]
            self.shared = True
        for t in transforms:
            if not callable(t):
                raise TypeError(
                    "`transform` must be a Keras layer or a callable (or a "
                    f"list of them); received {t!r}."
                )
        self.transforms = transforms
        self.num_views = num_views
        self.supports_jit = False

    def _transform(self, k):
        return self.transforms[0] if self.shared else self.transforms[k]

    def build(self, input_shape):
        for t in self.transforms:
            maybe_build(t, input_shape)
        self.built = True

    def call(self, inputs, training=True):
        return tuple(
            call_transform(self._transform(k), inputs, training)
            for k in range(self.num_views)
        )

    def compute_output_shape(self, input_shape):
        shapes = []
        for k in range(self.num_views):
            t = self._transform(k)
            if hasattr(t, "compute_output_shape"):
                shapes.append(t.compute_output_shape(input_shape))
            else:
                shapes.append(input_shape)
        return tuple(shapes)

    def get_config(self):
        config = super().get_config()
        if self.shared:
            config.update(
                {
                    "transform": serialize(self.transforms[0]),
                    "num_views": self.num_views,
                }
            )
        else:
            config.update(
                {"transform": serialize(self.transforms), "num_views": None}
            )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["transform"] = deserialize(config["transform"])
        return cls(**config)
