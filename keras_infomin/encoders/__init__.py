"""Encoders: MLP, ConvNet, RealNVP flow, ResNets and keras.applications.

All classes are Keras layers registered for serialization;
`applications_backbone` returns a functional `keras.Model`.
"""

from keras_infomin.encoders.applications import applications_backbone
from keras_infomin.encoders.batch_norm import BatchNormalization
from keras_infomin.encoders.conv import Conv2D
from keras_infomin.encoders.convnet import ConvNet
from keras_infomin.encoders.mlp import MLP
from keras_infomin.encoders.realnvp import RealNVP
from keras_infomin.encoders.resnet import ResNetBlock
from keras_infomin.encoders.resnet import ResNetCIFAR

__all__ = [
    "BatchNormalization",
    "Conv2D",
    "MLP",
    "ConvNet",
    "RealNVP",
    "ResNetBlock",
    "ResNetCIFAR",
    "applications_backbone",
]
