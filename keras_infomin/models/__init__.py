"""Trainers: subclassed `keras.Model`s used through `model.fit`."""

from keras_infomin.models.mi_estimator import ESTIMATORS
from keras_infomin.models.mi_estimator import EstimateRecorder
from keras_infomin.models.mi_estimator import MIEstimator

__all__ = ["ESTIMATORS", "EstimateRecorder", "MIEstimator"]
