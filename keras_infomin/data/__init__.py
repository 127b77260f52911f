"""Datasets: known-MI benchmarks, synthetic views and dataset loaders."""

from keras_infomin.data.archives import default_cache_dir
from keras_infomin.data.archives import resolve
from keras_infomin.data.colorful_moving_mnist import ColorfulMovingMNIST
from keras_infomin.data.gaussian import correlated_gaussians
from keras_infomin.data.gaussian import estimate_statistics
from keras_infomin.data.gaussian import gaussian_log_density_ratio
from keras_infomin.data.gaussian import gaussian_mi_dataset
from keras_infomin.data.gaussian import mi_for_rho
from keras_infomin.data.gaussian import rho_for_mi
from keras_infomin.data.loaders import list_image_folder
from keras_infomin.data.loaders import load
from keras_infomin.data.mi_tasks import MI_TASKS_V1
from keras_infomin.data.mi_tasks import MITask
from keras_infomin.data.mi_tasks import mi_task
from keras_infomin.data.nuisance import shared_nuisance_images

__all__ = [
    "correlated_gaussians",
    "default_cache_dir",
    "estimate_statistics",
    "gaussian_log_density_ratio",
    "gaussian_mi_dataset",
    "mi_for_rho",
    "rho_for_mi",
    "ColorfulMovingMNIST",
    "list_image_folder",
    "load",
    "MI_TASKS_V1",
    "MITask",
    "mi_task",
    "resolve",
    "shared_nuisance_images",
]
