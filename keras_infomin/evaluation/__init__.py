"""Evaluating representations and views: probes, kNN, RankMe, fresh critics.

extract_features   run an encoder (or None: raw inputs) over a data set
linear_probe       accuracy of a linear classifier on frozen features
                   ("sklearn": Tschannen et al.'s protocol; "keras")
scale_features     MinMax / standard scaling with training statistics
knn_predict, knn_accuracy
                   weighted kNN on cosine similarity (InstDisc / MoCo)
rankme             effective rank of embeddings (Garrido et al. 2023)
fresh_critic_mi    held-out I_NCE between fixed views, read by freshly
                   trained encoders (returns a `HeldOutMI`)
estimate_mi        MI between two arrays, held out, with an interval
                   (returns an `MIResult`; `keras_infomin.estimate_mi`)
LinearProbe, KNNMonitor, RankMe, FreshCriticMI
                   callbacks writing these values into fit's logs
run_protocol       InfoMin's learned views: the game (with the fresh-critic
                   monitor), fresh encoders on the frozen views, a probe
"""

from keras_infomin.evaluation.callbacks import FreshCriticMI
from keras_infomin.evaluation.callbacks import KNNMonitor
from keras_infomin.evaluation.callbacks import LinearProbe
from keras_infomin.evaluation.callbacks import RankMe
from keras_infomin.evaluation.features import extract_features
from keras_infomin.evaluation.features import labels_to_indices
from keras_infomin.evaluation.fresh_critic import HeldOutMI
from keras_infomin.evaluation.fresh_critic import default_encoder
from keras_infomin.evaluation.fresh_critic import fresh_critic_mi
from keras_infomin.evaluation.knn import knn_accuracy
from keras_infomin.evaluation.knn import knn_predict
from keras_infomin.evaluation.linear_probe import linear_probe
from keras_infomin.evaluation.linear_probe import scale_features
from keras_infomin.evaluation.mutual_information import EncoderCritic
from keras_infomin.evaluation.mutual_information import MIResult
from keras_infomin.evaluation.mutual_information import estimate_mi
from keras_infomin.evaluation.protocol import run_protocol
from keras_infomin.evaluation.rankme import rankme

__all__ = [
    "EncoderCritic",
    "FreshCriticMI",
    "HeldOutMI",
    "KNNMonitor",
    "LinearProbe",
    "MIResult",
    "RankMe",
    "default_encoder",
    "estimate_mi",
    "extract_features",
    "fresh_critic_mi",
    "knn_accuracy",
    "knn_predict",
    "labels_to_indices",
    "linear_probe",
    "rankme",
    "run_protocol",
    "scale_features",
]
