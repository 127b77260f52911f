"""Evaluating representations: frozen features, linear probes, kNN.

extract_features   run an encoder (or None: raw inputs) over a data set
linear_probe       accuracy of a linear classifier on frozen features
                   ("sklearn": Tschannen et al.'s protocol; "keras")
scale_features     MinMax / standard scaling with training statistics
knn_predict, knn_accuracy
                   weighted kNN on cosine similarity (InstDisc / MoCo)
LinearProbe, KNNMonitor
                   callbacks writing these accuracies into fit's logs
"""

from keras_infomin.evaluation.callbacks import KNNMonitor
from keras_infomin.evaluation.callbacks import LinearProbe
from keras_infomin.evaluation.features import extract_features
from keras_infomin.evaluation.features import labels_to_indices
from keras_infomin.evaluation.knn import knn_accuracy
from keras_infomin.evaluation.knn import knn_predict
from keras_infomin.evaluation.linear_probe import linear_probe
from keras_infomin.evaluation.linear_probe import scale_features

__all__ = [
    "KNNMonitor",
    "LinearProbe",
    "extract_features",
    "knn_accuracy",
    "knn_predict",
    "labels_to_indices",
    "linear_probe",
    "scale_features",
]
