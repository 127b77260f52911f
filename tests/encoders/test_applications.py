import keras
import numpy as np
import pytest

from keras_infomin.encoders import applications_backbone
from keras_infomin.encoders.applications import _lookup


def test_name_lookup_is_lenient():
    assert _lookup("mobilenet_v2") is keras.applications.MobileNetV2
    assert _lookup("EfficientNet-B0") is keras.applications.EfficientNetB0
    assert _lookup("resnet50") is keras.applications.ResNet50


def test_pooled_features():
    encoder = applications_backbone("MobileNetV2", (32, 32, 3), alpha=0.35)
    assert isinstance(encoder, keras.Model)
    out = encoder(np.random.uniform(size=(2, 32, 32, 3)).astype("float32"))
    assert tuple(out.shape) == (2, 1280)
    assert encoder.trainable_weights


def test_frozen_and_max_pooling():
    encoder = applications_backbone(
        "MobileNetV2", (32, 32, 3), alpha=0.35, trainable=False, pooling="max"
    )
    assert not encoder.trainable_weights
    x = np.random.uniform(size=(1, 32, 32, 3)).astype("float32")
    assert tuple(encoder(x).shape) == (1, 1280)


def test_unknown_name_lists_choices():
    with pytest.raises(ValueError, match="ResNet50"):
        applications_backbone("NotANet", (32, 32, 3))
    with pytest.raises(ValueError, match="pooling"):
        applications_backbone("ResNet50", (32, 32, 3), pooling="none")
