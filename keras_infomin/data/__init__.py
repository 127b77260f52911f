"""Datasets: known-MI benchmarks, synthetic views and dataset loaders."""

from keras_infomin.data.gaussian import correlated_gaussians
from keras_infomin.data.gaussian import estimate_statistics
from keras_infomin.data.gaussian import gaussian_log_density_ratio
from keras_infomin.data.gaussian import gaussian_mi_dataset
from keras_infomin.data.gaussian import mi_for_rho
from keras_infomin.data.gaussian import rho_for_mi

__all__ = [
    "correlated_gaussians",
    "estimate_statistics",
    "gaussian_log_density_ratio",
    "gaussian_mi_dataset",
    "mi_for_rho",
    "rho_for_mi",
]
