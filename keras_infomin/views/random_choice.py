"""`RandomChoice`: one transform per sample, picked at random."""

import math

import tensorflow as tf

from keras_infomin.utils import register
from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import call_transform
from keras_infomin.views.base import deserialize
from keras_infomin.views.base import maybe_build
from keras_infomin.views.base import restore_rank
from keras_infomin.views.base import serialize
from keras_infomin.views.base import standardize_images
from keras_infomin.views.base import switch_per_sample


@register
class RandomChoice(RandomViewLayer):
    """Applies one of `layers` to each sample, chosen independently.

    Sample `i` goes through `layers[k_i]` with `k_i ~ Categorical(weights)`
    (uniform by default); each sample is computed once (see
    `switch_per_sample`). All layers must map an input to outputs of the
    same shape. Layers may be this package's, Keras' or keras-cv's layers,
    or plain callables.

    In inference (`training=False`) every sample goes through `layers[0]`
    called with `training=False` (the identity for augmentation layers, a
    centre crop for crops).

    Args:
        layers: non-empty list of transforms.
        weights: optional list of non-negative relative probabilities, one
            per layer (not all zero).
        seed: optional int.
        **kwargs: `keras.layers.Layer` arguments.

    Example:

    ```python
    crop = RandomChoice([RandomResizedCrop(96, 96, scale=(0.2, 1.0)),
                         RandomResizedCrop(96, 96, scale=(0.05, 0.2))],
                        weights=[3, 1])
    ```
    """

    def __init__(self, layers, weights=None, seed=None, **kwargs):
        super().__init__(seed=seed, **kwargs)
        if not isinstance(layers, (list, tuple)) or not layers:
            raise ValueError(
                "`layers` must be a non-empty list of transforms; received "
                f"layers={layers!r}."
            )
        for layer in layers:
            if not callable(layer):
                raise TypeError(
                    "Every entry of `layers` must be a Keras layer or a "
                    f"callable; received {layer!r}."
                )
        self.choices = list(layers)
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

    def build(self, input_shape):
        for layer in self.choices:
            maybe_build(layer, input_shape)
        self.built = True

    def call(self, inputs, training=True):
        if not training:
            return call_transform(self.choices[0], inputs, False)
        if len(self.choices) == 1:
            return call_transform(self.choices[0], inputs, True)
        images, unbatched = standardize_images(inputs)
        batch = tf.shape(images)[0]
        if self.weights_ is None:
            logits = tf.zeros([1, len(self.choices)])
        else:
            probs = tf.constant(self.weights_) / sum(self.weights_)
            logits = tf.math.log(probs)[None]
        index = tf.random.stateless_categorical(
            logits, batch, self.draw_seed(), dtype=tf.int32
        )[0]
        branches = [
            (lambda x, layer=layer: call_transform(layer, x, True))
            for layer in self.choices
        ]
        out = switch_per_sample(index, images, branches, preserves_shape=False)
        return restore_rank(out, unbatched)

    def compute_output_shape(self, input_shape):
        first = self.choices[0]
        if hasattr(first, "compute_output_shape"):
            return first.compute_output_shape(input_shape)
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {"layers": serialize(self.choices), "weights": self.weights_}
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layers"] = deserialize(config["layers"])
        return cls(**config)
