"""`Views`: several independently augmented views of one batch."""

from keras_infomin.utils import register
from keras_infomin.views.base import ViewLayer
from keras_infomin.views.base import apply_transform
from keras_infomin.views.base import as_transform
from keras_infomin.views.base import as_transforms
from keras_infomin.views.base import transform_output_shape


@register
class Views(ViewLayer):
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
        value_range: range of the incoming images (see `ViewLayer`);
            default: the transforms'.
        **kwargs: `keras.layers.Layer` arguments.

    Returns:
        A tuple of `num_views` tensors.

    Example:

    ```python
    two_views = Views(InfoMinAugment(224), num_views=2)
    dataset = dataset.batch(256).map(lambda x, y: (two_views(x), y))
    ```
    """

    changes_values = False

    nested = {"transform": "view_transform"}

    def __init__(self, transform, num_views=None, value_range=None, **kwargs):
        super().__init__(value_range=value_range, **kwargs)
        if isinstance(transform, (list, tuple)):
            self.view_transform = as_transforms("transform", transform)
            if num_views is not None and num_views != len(transform):
                raise ValueError(
                    f"`num_views` ({num_views!r}) must equal the number of "
                    f"transforms given ({len(transform)})."
                )
            num_views = len(transform)
        else:
            self.view_transform = as_transform("transform", transform)
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
        self.num_views = num_views
        self.resolve_value_range()

    @property
    def shared(self):
        """Whether one transform serves every view."""
        return not isinstance(self.view_transform, (list, tuple))

    @property
    def transforms(self):
        """The transforms, one entry when shared."""
        return self.children()

    def _transform(self, k):
        return self.view_transform if self.shared else self.view_transform[k]

    def transform(self, images, training):
        value_range = self.resolve_value_range()
        return tuple(
            apply_transform(self._transform(k), images, training, value_range)
            for k in range(self.num_views)
        )

    def compute_output_shape(self, input_shape):
        return tuple(
            transform_output_shape(self._transform(k), input_shape)
            for k in range(self.num_views)
        )

    def get_config(self):
        config = super().get_config()
        config["num_views"] = self.num_views if self.shared else None
        return config
