"""Optimizers and learning-rate schedules for large-batch contrastive training.

LARS           SGD + momentum with a layer-wise trust ratio (SimCLR form)
SIMCLR_EXCLUDE variable-path patterns SimCLR excludes from decay/adaptation
WarmupCosine   linear warm-up then cosine decay
"""

from keras_infomin.optimizers.lars import LARS
from keras_infomin.optimizers.lars import SIMCLR_EXCLUDE
from keras_infomin.optimizers.schedules import WarmupCosine

__all__ = ["LARS", "SIMCLR_EXCLUDE", "WarmupCosine"]
