"""Augmentation recipes of SimCLR, MoCo v2 and InfoMin, sized by image size.

Each preset returns a `Compose` of this package's vectorised layers, so it
runs on a whole batch in a `tf.data` map or inside a `train_step`, draws
its random parameters per sample, and folds the replica id into its
seeds. Wrap one in `Views(preset, num_views=2)` for two views per image.
A saved preset is saved as the `Compose` it is, every step with its
settings and seed, so a `.keras` file keeps its exact recipe.

Images: RGB or single-channel (grey), in `value_range` ((0, 1) by
default; out-of-range values raise an error). On single-channel images
the changes that only move colour leave the images as they are
(saturation and hue in the colour jitter, RandAugment's colour
operation, grayscale); everything else applies.

Recipes (in order of application):

- `SimCLRAugment` (Chen et al. 2020): resized crop, scale (0.08, 1);
  horizontal flip; colour jitter `(0.8 s, 0.8 s, 0.8 s, 0.2 s)` with
  probability 0.8; grayscale with probability 0.2; Gaussian blur,
  sigma in [0.1, 2], kernel a tenth of the side, with probability 0.5
  (SimCLR leaves blur out on CIFAR: the default turns it off below 64
  pixels).
- `MoCoV2Augment` (Chen et al. 2020b): resized crop, scale (0.2, 1);
  colour jitter (0.4, 0.4, 0.4, 0.1) with p 0.8; grayscale p 0.2;
  Gaussian blur sigma in [0.1, 2] with p 0.5; horizontal flip.
- `InfoMinAugment` (Tian et al. 2020, PyContrast "aug D"): resized crop,
  scale (0.2, 1); horizontal flip; colour jitter (0.8, 0.8, 0.8, 0.2)
  with p 0.8; Gaussian blur sigma in [0.1, 2], kernel `2 (size // 20) + 1`
  (23 at 224), with p 0.5; RandAugment, 2 operations, magnitude 10 with
  standard deviation 0.5, each applied with p 0.5; grayscale p 0.2.
"""

import keras

from keras_infomin.utils.serialization import PACKAGE
from keras_infomin.views.color_jitter import ColorJitter
from keras_infomin.views.compose import Compose
from keras_infomin.views.flip import RandomHorizontalFlip
from keras_infomin.views.gaussian_blur import GaussianBlur
from keras_infomin.views.grayscale import RandomGrayscale
from keras_infomin.views.rand_augment import RandAugment
from keras_infomin.views.random_apply import RandomApply
from keras_infomin.views.resized_crop import RandomResizedCrop


def _size_pair(image_size):
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    ok = isinstance(image_size, (tuple, list)) and len(image_size) == 2
    ok = ok and all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 1
        for v in image_size
    )
    if not ok:
        raise ValueError(
            "`image_size` must be a positive int or a pair (height, width); "
            f"received image_size={image_size!r}."
        )
    return tuple(image_size)


def _sub_seed(seed, k):
    return None if seed is None else seed + 1000 * k


def _blur_kernel(size):
    """A tenth of the smaller side, odd, at least 3 (SimCLR, MoCo v2)."""
    return max(3, int(0.1 * min(size)) // 2 * 2 + 1)


def _crop(size, scale, seed, k):
    return RandomResizedCrop(
        size[0], size[1], scale=scale, seed=_sub_seed(seed, k)
    )


def _jitter(jitter, rate, seed, k):
    """Colour jitter with probability `rate` (seeds k and k + 1)."""
    return RandomApply(
        ColorJitter(*jitter, seed=_sub_seed(seed, k)),
        rate=rate,
        seed=_sub_seed(seed, k + 1),
    )


def _blur(kernel, rate, seed, k):
    """Blur, sigma in [0.1, 2], with probability `rate` (none at rate 0)."""
    if rate <= 0:
        return []
    blur = GaussianBlur((0.1, 2.0), kernel, seed=_sub_seed(seed, k))
    return [RandomApply(blur, rate=rate, seed=_sub_seed(seed, k + 1))]


def SimCLRAugment(
    image_size,
    crop_scale=(0.08, 1.0),
    jitter_strength=1.0,
    jitter_rate=0.8,
    grayscale_rate=0.2,
    blur_rate=None,
    seed=None,
    value_range=None,
    **kwargs,
):
    """The SimCLR augmentation recipe (see the module docstring).

    Args:
        image_size: output size, int or `(height, width)`.
        crop_scale: area range of the resized crop.
        jitter_strength: `s` in the colour jitter `(0.8 s, 0.8 s, 0.8 s,
            0.2 s)`.
        jitter_rate, grayscale_rate: probabilities.
        blur_rate: probability of the blur; default 0.5 for images of at
            least 64 pixels, 0 below (SimCLR's CIFAR setting).
        seed: optional int (each step gets its own seed from it).
        value_range: range of the incoming images, default (0, 1).
        **kwargs: `keras.layers.Layer` arguments of the `Compose`.

    Returns:
        A `Compose`.

    Example:

    ```python
    views = Views(SimCLRAugment(32), num_views=2)
    ```
    """
    size = _size_pair(image_size)
    if blur_rate is None:
        blur_rate = 0.5 if min(size) >= 64 else 0.0
    s = float(jitter_strength)
    layers = [
        _crop(size, crop_scale, seed, 1),
        RandomHorizontalFlip(0.5, seed=_sub_seed(seed, 2)),
        _jitter((0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s), jitter_rate, seed, 3),
        RandomGrayscale(grayscale_rate, seed=_sub_seed(seed, 5)),
        *_blur(_blur_kernel(size), blur_rate, seed, 6),
    ]
    return Compose(layers, value_range=value_range, **kwargs)


def MoCoV2Augment(
    image_size,
    crop_scale=(0.2, 1.0),
    jitter=(0.4, 0.4, 0.4, 0.1),
    jitter_rate=0.8,
    grayscale_rate=0.2,
    blur_rate=0.5,
    seed=None,
    value_range=None,
    **kwargs,
):
    """The MoCo v2 augmentation recipe (see the module docstring).

    Args:
        image_size: output size, int or `(height, width)`.
        crop_scale: area range of the resized crop.
        jitter: `(brightness, contrast, saturation, hue)`.
        jitter_rate, grayscale_rate, blur_rate: probabilities.
        seed: optional int.
        value_range: range of the incoming images, default (0, 1).
        **kwargs: `keras.layers.Layer` arguments of the `Compose`.

    Returns:
        A `Compose`.

    Example:

    ```python
    query, key = Views(MoCoV2Augment(224), num_views=2)(images)
    ```
    """
    size = _size_pair(image_size)
    layers = [
        _crop(size, crop_scale, seed, 1),
        _jitter(jitter, jitter_rate, seed, 2),
        RandomGrayscale(grayscale_rate, seed=_sub_seed(seed, 4)),
        *_blur(_blur_kernel(size), blur_rate, seed, 5),
        RandomHorizontalFlip(0.5, seed=_sub_seed(seed, 7)),
    ]
    return Compose(layers, value_range=value_range, **kwargs)


def InfoMinAugment(
    image_size,
    crop_scale=(0.2, 1.0),
    jitter=(0.8, 0.8, 0.8, 0.2),
    jitter_rate=0.8,
    blur_rate=0.5,
    rand_augment_ops=2,
    rand_augment_magnitude=10.0,
    rand_augment_rate=0.5,
    rand_augment_set=None,
    grayscale_rate=0.2,
    seed=None,
    value_range=None,
    **kwargs,
):
    """The InfoMin augmentation recipe (see the module docstring).

    Args:
        image_size: output size, int or `(height, width)`.
        crop_scale: area range of the resized crop ((0.2, 1) with a MoCo
            queue, (0.08, 1) with a memory bank in PyContrast).
        jitter: `(brightness, contrast, saturation, hue)`.
        jitter_rate, blur_rate, grayscale_rate: probabilities.
        rand_augment_ops: RandAugment operations per sample (0: none).
        rand_augment_magnitude: RandAugment magnitude (0 to 10).
        rand_augment_rate: probability of each RandAugment operation.
        rand_augment_set: `None` (all 15 operations) or `"color_free"`
            (CMC variant without colour operations).
        seed: optional int.
        value_range: range of the incoming images, default (0, 1).
        **kwargs: `keras.layers.Layer` arguments of the `Compose`.

    Returns:
        A `Compose`.

    Example:

    ```python
    views = Views(InfoMinAugment(224), num_views=2)
    ```
    """
    size = _size_pair(image_size)
    kernel = 2 * (min(size) // 20) + 1
    layers = [
        _crop(size, crop_scale, seed, 1),
        RandomHorizontalFlip(0.5, seed=_sub_seed(seed, 2)),
        _jitter(jitter, jitter_rate, seed, 3),
        *_blur(kernel, blur_rate if kernel >= 3 else 0.0, seed, 5),
    ]
    if rand_augment_ops > 0:
        layers.append(
            RandAugment(
                num_ops=rand_augment_ops,
                magnitude=rand_augment_magnitude,
                magnitude_std=0.5,
                rate=rand_augment_rate,
                ops=rand_augment_set,
                seed=_sub_seed(seed, 7),
            )
        )
    layers.append(RandomGrayscale(grayscale_rate, seed=_sub_seed(seed, 8)))
    return Compose(layers, value_range=value_range, **kwargs)


PRESETS = (SimCLRAugment, MoCoV2Augment, InfoMinAugment)


def _register_saved_name(preset):
    """Loads `.keras` files written when the presets were `Compose`
    subclasses: their config (`image_size`, the recipe's options, seed,
    layer arguments) is rebuilt by the preset under the same registered
    name."""

    class SavedPreset:
        @classmethod
        def from_config(cls, config):
            config = dict(config)
            if isinstance(config.get("dtype"), dict):
                config["dtype"] = keras.dtype_policies.deserialize(
                    config["dtype"]
                )
            return preset(**config)

        def get_config(self):  # required by the registry, never called
            raise NotImplementedError

    SavedPreset.__name__ = SavedPreset.__qualname__ = preset.__name__
    keras.saving.register_keras_serializable(
        package=PACKAGE, name=preset.__name__
    )(SavedPreset)


for _preset in PRESETS:
    _register_saved_name(_preset)
