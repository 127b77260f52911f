"""Trainers: subclassed `keras.Model`s used through `model.fit`."""

from keras_infomin.models.adversarial import AdversarialInvertibleEncoder
from keras_infomin.models.contrastive import ContrastiveModel
from keras_infomin.models.gradient_reversal import GradientReversal
from keras_infomin.models.heads import ProjectionHead
from keras_infomin.models.infomin import InfoMinModel
from keras_infomin.models.infomin import frozen_generator
from keras_infomin.models.infomin import run_protocol
from keras_infomin.models.infomin import train_on_learned_views
from keras_infomin.models.mi_estimator import ESTIMATORS
from keras_infomin.models.mi_estimator import EstimateRecorder
from keras_infomin.models.mi_estimator import MIEstimator
from keras_infomin.models.moco import MomentumContrast
from keras_infomin.models.pair import PairModel

__all__ = [
    "AdversarialInvertibleEncoder",
    "ESTIMATORS",
    "ContrastiveModel",
    "EstimateRecorder",
    "GradientReversal",
    "InfoMinModel",
    "MIEstimator",
    "MomentumContrast",
    "PairModel",
    "ProjectionHead",
    "frozen_generator",
    "run_protocol",
    "train_on_learned_views",
]
