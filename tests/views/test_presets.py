"""Presets: the published recipes' settings, outputs, graph modes."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.testing import run_layer_test
from keras_infomin.views import ColorJitter
from keras_infomin.views import Compose
from keras_infomin.views import GaussianBlur
from keras_infomin.views import InfoMinAugment
from keras_infomin.views import MoCoV2Augment
from keras_infomin.views import RandAugment
from keras_infomin.views import RandomApply
from keras_infomin.views import RandomGrayscale
from keras_infomin.views import RandomHorizontalFlip
from keras_infomin.views import RandomResizedCrop
from keras_infomin.views import SimCLRAugment
from tests.views.helpers import binomial_tolerance
from tests.views.helpers import check_seeded_rebuild
from tests.views.helpers import random_images


def describe(layer):
    """(class, settings) of each step of a recipe."""
    steps = []
    for t in layer.transforms:
        if isinstance(t, RandomApply):
            inner = t.layer
            steps.append(("apply", t.rate, describe_one(inner)))
        else:
            steps.append(describe_one(t))
    return steps


def describe_one(t):
    if isinstance(t, RandomResizedCrop):
        return ("crop", t.height, t.width, t.scale)
    if isinstance(t, RandomHorizontalFlip):
        return ("flip", t.rate)
    if isinstance(t, ColorJitter):
        return ("jitter", t.brightness, t.contrast, t.saturation, t.hue)
    if isinstance(t, GaussianBlur):
        return ("blur", t.sigma, t.kernel_size)
    if isinstance(t, RandAugment):
        return ("randaug", t.num_ops, t.magnitude, t.magnitude_std, t.rate)
    if isinstance(t, RandomGrayscale):
        return ("gray", t.rate)
    raise AssertionError(type(t))


def test_infomin_recipe_at_224():
    # Tian et al. 2020 / PyContrast "aug D": crop (0.2, 1), flip, jitter
    # (0.8, 0.8, 0.8, 0.2) p 0.8, blur sigma [0.1, 2] kernel 23 p 0.5,
    # RandAugment n 2 m 10 (std 0.5) each op p 0.5, grayscale p 0.2.
    f = pytest.approx
    assert describe(InfoMinAugment(224)) == [
        ("crop", 224, 224, f((0.2, 1.0))),
        ("flip", 0.5),
        (
            "apply",
            0.8,
            (
                "jitter",
                f((0.2, 1.8)),
                f((0.2, 1.8)),
                f((0.2, 1.8)),
                f((-0.2, 0.2)),
            ),
        ),
        ("apply", 0.5, ("blur", f((0.1, 2.0)), 23)),
        ("randaug", 2, 10.0, 0.5, 0.5),
        ("gray", 0.2),
    ]


def test_moco_v2_and_simclr_recipes():
    f = pytest.approx
    assert describe(MoCoV2Augment(224)) == [
        ("crop", 224, 224, f((0.2, 1.0))),
        (
            "apply",
            0.8,
            (
                "jitter",
                f((0.6, 1.4)),
                f((0.6, 1.4)),
                f((0.6, 1.4)),
                f((-0.1, 0.1)),
            ),
        ),
        ("gray", 0.2),
        ("apply", 0.5, ("blur", f((0.1, 2.0)), 23)),
        ("flip", 0.5),
    ]
    simclr = describe(SimCLRAugment(224))
    assert simclr[0] == ("crop", 224, 224, f((0.08, 1.0)))
    assert simclr[2] == (
        "apply",
        0.8,
        ("jitter", f((0.2, 1.8)), f((0.2, 1.8)), f((0.2, 1.8)), f((-0.2, 0.2))),
    )
    assert simclr[-1] == ("apply", 0.5, ("blur", f((0.1, 2.0)), 23))
    # SimCLR's CIFAR setting: no blur on small images.
    assert all(
        s[0] != "apply" or s[2][0] != "blur"
        for s in describe(SimCLRAugment(32))
    )


@pytest.mark.parametrize(
    "preset", [SimCLRAugment, MoCoV2Augment, InfoMinAugment]
)
def test_preset_outputs_and_contract(preset):
    images = random_images((4, 24, 24, 3))
    layer = preset(16, seed=7)
    run_layer_test(layer, (images,), call_kwargs={"training": False})
    out = np.asarray(layer(images))
    assert out.shape == (4, 16, 16, 3)
    assert np.all((out >= 0) & (out <= 1))
    check_seeded_rebuild(layer, images)
    assert preset((12, 20)).compute_output_shape((None, 24, 24, 3)) == (
        None,
        12,
        20,
        3,
    )


def test_infomin_in_tf_data_and_grayscale_rate():
    images = random_images((4, 24, 24, 3))
    ds = tf.data.Dataset.from_tensor_slices(images).batch(4)
    out = next(iter(ds.map(InfoMinAugment(16))))
    assert out.shape == (4, 16, 16, 3)
    assert np.all(np.isfinite(out))
    n = 500
    many = random_images((n, 8, 8, 3))
    out = np.asarray(InfoMinAugment(8)(many))
    gray = np.all(np.abs(out - out[..., :1]) < 1e-6, axis=(1, 2, 3))
    # Only the last step makes an image exactly grey.
    assert abs(gray.mean() - 0.2) <= binomial_tolerance(n, 0.2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="image_size"):
        InfoMinAugment(0)
    with pytest.raises(ValueError, match="image_size"):
        SimCLRAugment((32,))
    with pytest.raises(ValueError, match="scale"):
        MoCoV2Augment(32, crop_scale=(0.5, 2.0))


def _saved(name, registered, **config):
    """The config `keras.saving.serialize_keras_object` wrote for a preset
    when the presets were `Compose` subclasses."""
    base = {
        "name": name,
        "trainable": True,
        "dtype": {
            "module": "keras",
            "class_name": "DTypePolicy",
            "config": {"name": "float32"},
            "registered_name": None,
        },
        "image_size": [32, 32],
        "seed": 1,
    }
    return {
        "module": "keras_infomin.views.presets",
        "class_name": registered,
        "config": {**base, **config},
        "registered_name": f"keras_infomin>{registered}",
    }


SAVED_PRESETS = [
    _saved(
        "sim_clr_augment",
        "SimCLRAugment",
        crop_scale=[0.08, 1.0],
        jitter_strength=1.0,
        jitter_rate=0.8,
        grayscale_rate=0.2,
        blur_rate=0.0,
    ),
    _saved(
        "mo_co_v2_augment",
        "MoCoV2Augment",
        crop_scale=[0.2, 1.0],
        jitter=[0.4, 0.4, 0.4, 0.1],
        jitter_rate=0.8,
        grayscale_rate=0.2,
        blur_rate=0.5,
    ),
    _saved(
        "info_min_augment",
        "InfoMinAugment",
        crop_scale=[0.2, 1.0],
        jitter=[0.8, 0.8, 0.8, 0.2],
        jitter_rate=0.5,
        blur_rate=0.5,
        rand_augment_ops=2,
        rand_augment_magnitude=10.0,
        rand_augment_rate=0.5,
        rand_augment_set=None,
        grayscale_rate=0.2,
    ),
]


@pytest.mark.parametrize("saved", SAVED_PRESETS, ids=lambda s: s["class_name"])
def test_presets_saved_as_their_own_classes_load(saved):
    preset = {
        "SimCLRAugment": SimCLRAugment,
        "MoCoV2Augment": MoCoV2Augment,
        "InfoMinAugment": InfoMinAugment,
    }[saved["class_name"]]
    loaded = keras.saving.deserialize_keras_object(saved)
    options = dict(saved["config"])
    for key in ("name", "trainable", "dtype"):
        options.pop(key)
    expected = preset(**options)
    assert describe(loaded) == describe(expected)
    assert loaded.name == saved["config"]["name"]
    images = random_images((4, 40, 40, 3))
    np.testing.assert_allclose(loaded(images), expected(images), atol=1e-6)


def test_a_saved_preset_keeps_its_recipe(tmp_path):
    # A preset is saved as the Compose it is: every step and its seed.
    images = random_images((4, 24, 24, 3))
    preset = InfoMinAugment(16, jitter_rate=0.3, seed=5)
    inputs = keras.Input((24, 24, 3))
    model = keras.Model(inputs, preset(inputs, training=True))
    path = str(tmp_path / "recipe.keras")
    model.save(path)
    loaded = keras.saving.load_model(path).layers[-1]
    assert isinstance(loaded, Compose)
    assert describe(loaded) == describe(preset)
    fresh = InfoMinAugment(16, jitter_rate=0.3, seed=5)
    np.testing.assert_allclose(loaded(images), fresh(images), atol=1e-6)
