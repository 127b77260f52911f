"""Trainers: subclassed `keras.Model`s used through `model.fit`.

Every trainer runs the one `Trainer.train_step` (players with their own
optimizers, losses and schedules) and reads its MI through a
`losses.Objective`; `PairModel` is a functional model whose loss reads
its whole output.
"""

from keras_infomin.models.adversarial import AdversarialInvertibleEncoder
from keras_infomin.models.contrastive import ContrastiveModel
from keras_infomin.models.gradient_reversal import GradientReversal
from keras_infomin.models.heads import ProjectionHead
from keras_infomin.models.infomin import InfoMinModel
from keras_infomin.models.infomin import frozen_generator
from keras_infomin.models.infomin import train_on_learned_views
from keras_infomin.models.mi_estimator import ESTIMATORS
from keras_infomin.models.mi_estimator import EstimateRecorder
from keras_infomin.models.mi_estimator import MIEstimator
from keras_infomin.models.moco import MomentumContrast
from keras_infomin.models.pair import PairModel
from keras_infomin.models.trainer import Player
from keras_infomin.models.trainer import Terms
from keras_infomin.models.trainer import Trainer

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
    "Player",
    "ProjectionHead",
    "Terms",
    "Trainer",
    "frozen_generator",
    "train_on_learned_views",
]
