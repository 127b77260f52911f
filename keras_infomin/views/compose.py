"""`Compose`: a chain of view transforms applied in order."""

from keras_infomin.utils import register
from keras_infomin.views.base import ViewLayer
from keras_infomin.views.base import apply_transform
from keras_infomin.views.base import as_transforms
from keras_infomin.views.base import transform_output_shape


@register
class Compose(ViewLayer):
    """Applies `layers` one after the other, passing `training` along.

    Like torchvision's `Compose` (or `keras.layers.Pipeline`), but every
    layer receives the caller's `training` flag, so a recipe turns into its
    inference form as a whole; the input checks, the value range and the
    dtype are handled once, by the `Compose` (see `ViewLayer`). The recipes
    `SimCLRAugment`, `MoCoV2Augment` and `InfoMinAugment` return one.

    Args:
        layers: non-empty list of layers or callables.
        value_range: range of the incoming images (see `ViewLayer`);
            default: the layers'.
        **kwargs: `keras.layers.Layer` arguments.

    Example:

    ```python
    recipe = Compose([RandomResizedCrop(32, 32), RandomHorizontalFlip()])
    ```
    """

    changes_values = False

    nested = {"layers": "transforms"}

    def __init__(self, layers, value_range=None, **kwargs):
        super().__init__(value_range=value_range, **kwargs)
        self.transforms = as_transforms("layers", layers)
        self.resolve_value_range()

    def child_input_shapes(self, input_shape):
        pairs, shape = [], input_shape
        for t in self.transforms:
            pairs.append((t, shape))
            shape = transform_output_shape(t, shape)
        return pairs

    def transform(self, images, training):
        value_range = self.resolve_value_range()
        x = images
        for t in self.transforms:
            x = apply_transform(t, x, training, value_range)
        return x

    def compute_output_shape(self, input_shape):
        shape = input_shape
        for t in self.transforms:
            shape = transform_output_shape(t, shape)
        return shape
