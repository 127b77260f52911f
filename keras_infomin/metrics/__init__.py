"""Keras metrics that report mutual information estimates."""

from keras_infomin.metrics.mutual_information import MutualInformation

__all__ = ["MutualInformation"]
