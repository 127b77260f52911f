"""`RandomChoice`: one transform per sample, picked at random."""

import math

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import ViewLayer
from keras_infomin.views.base import apply_transform
from keras_infomin.views.base import as_transforms
from keras_infomin.views.base import switch_per_sample
from keras_infomin.views.base import transform_output_shape


@register
class RandomChoice(RandomViewLayer):
    """Applies one of `layers` to each sample, chosen independently.

    Sample `i` goes through `layers[k_i]` with `k_i ~ Categorical(weights)`
    (uniform by default); each sample is computed once, and a layer never
    sees an empty batch (see `switch_per_sample`). All layers must map an
    input to outputs of the same shape. Layers may be this package's,
    Keras' or keras-cv's layers, or plain callables (those receive the
    images in `value_range`).

    In inference (`training=False`) every sample goes through `layers[0]`
    called with `training=False` (the identity for augmentation layers, a
    centre crop for crops).

    Args:
        layers: non-empty list of transforms.
        weights: optional list of non-negative relative probabilities, one
            per layer (not all zero).
        seed: optional int.
        value_range: range of the incoming images (see `ViewLayer`);
            default: the layers'.
        **kwargs: `keras.layers.Layer` arguments.

    Example:

    ```python
    crop = RandomChoice([RandomResizedCrop(96, 96, scale=(0.2, 1.0)),
                         RandomResizedCrop(96, 96, scale=(0.05, 0.2))],
                        weights=[3, 1])
    ```
    """

    changes_values = False

    nested = {"layers": "choices"}

    def __init__(
        self, layers, weights=None, seed=None, value_range=None, **kwargs
    ):
        super().__init__(seed=seed, value_range=value_range, **kwargs)
        if not isinstance(layers, (list, tuple)) or not layers:
            raise ValueError(
                "`layers` must be a non-empty list of transforms; received "
                f"layers={layers!r}."
            )
        self.choices = as_transforms("layers", layers)
        if weights is not None:
            ok = isinstance(weights, (list, tuple)) and len(weights) == len(
                layers
            )
            ok = ok and all(
                isinstance(w, (int, float))
                and not isinstance(w, bool)
                and math.isfinite(w)
                and w >= 0
                for w in weights
            )
            ok = ok and sum(weights) > 0
            if not ok:
                raise ValueError(
                    "`weights` must be a list of non-negative numbers, one "
                    f"per layer ({len(layers)}), not all zero; received "
                    f"weights={weights!r}."
                )
            weights = [float(w) for w in weights]
        self.weights_ = weights
        self.resolve_value_range()

    def sample_parameters(self, images, seed):
        if self.weights_ is None:
            logits = tf.zeros([1, len(self.choices)])
        else:
            probs = tf.constant(self.weights_) / sum(self.weights_)
            logits = tf.math.log(probs)[None]
        return tf.random.stateless_categorical(
            logits, tf.shape(images)[0], seed, dtype=tf.int32
        )[0]

    def inference_parameters(self, images):
        return tf.zeros([tf.shape(images)[0]], tf.int32)

    def augment(self, images, index, training):
        value_range = self.resolve_value_range()
        if not training or len(self.choices) == 1:
            return apply_transform(
                self.choices[0], images, training, value_range
            )
        branches = [
            (lambda x, t=t: apply_transform(t, x, True, value_range))
            for t in self.choices
        ]
        return switch_per_sample(
            index, images, branches, self._output_shape(images)
        )

    def _output_shape(self, images):
        """The choices' output shape after the batch axis: from the view
        layers' `compute_output_shape` (sizes known only at run time taken
        from the input), unknown (None) when a choice is another kind of
        layer or callable (then read from its output on one sample)."""
        shape = tuple(images.shape)
        if not all(isinstance(t, ViewLayer) for t in self.choices):
            return (None,) * (len(shape) - 1)
        out = self.compute_output_shape(shape)
        dynamic = tf.shape(images)
        return tuple(
            dynamic[i] if d is None and i < len(shape) else d
            for i, d in enumerate(out)
        )[1:]

    def compute_output_shape(self, input_shape):
        return transform_output_shape(self.choices[0], input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({"weights": self.weights_})
        return config
