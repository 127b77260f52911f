"""Trainers: subclassed `keras.Model`s used through `model.fit`."""

from keras_infomin.models.contrastive import ContrastiveModel
from keras_infomin.models.heads import ProjectionHead
from keras_infomin.models.mi_estimator import ESTIMATORS
from keras_infomin.models.mi_estimator import EstimateRecorder
from keras_infomin.models.mi_estimator import MIEstimator
from keras_infomin.models.moco import MomentumContrast

__all__ = [
    "ESTIMATORS",
    "ContrastiveModel",
    "EstimateRecorder",
    "MIEstimator",
    "MomentumContrast",
    "ProjectionHead",
]
