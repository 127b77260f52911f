"""keras_infomin: contrastive representation learning built on MI.

The layering, from maths to deployment:

    bounds      MI lower bounds as pure functions of a score matrix
    critics     Keras layers that score every (x_i, y_j) pair
    losses      Keras losses wrapping the bounds; metrics report MI in nats
    data, views datasets with known MI, view-generating layers (InfoMin Aug,
                colour spaces, patches, learned flows)
    encoders    MLP, ConvNet, RealNVP, ResNet backbones
    models      subclassed keras.Model trainers used through model.fit
    evaluation, analysis
                probes, kNN, RankMe, fresh-critic I_NCE; sweeps over views
                (the command line, `keras-infomin`, sits on top)
    distribute, export
                tf.distribute helpers and TF Hub / SavedModel export
"""

import os as _os

_os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from keras_infomin import analysis  # noqa: E402
from keras_infomin import bounds  # noqa: E402
from keras_infomin import critics  # noqa: E402
from keras_infomin import data  # noqa: E402
from keras_infomin import distribute  # noqa: E402
from keras_infomin import encoders  # noqa: E402
from keras_infomin import estimators  # noqa: E402
from keras_infomin import evaluation  # noqa: E402
from keras_infomin import export  # noqa: E402
from keras_infomin import losses  # noqa: E402
from keras_infomin import metrics  # noqa: E402
from keras_infomin import models  # noqa: E402
from keras_infomin import optimizers  # noqa: E402
from keras_infomin import views  # noqa: E402
from keras_infomin.version import __version__  # noqa: E402

__all__ = [
    "analysis",
    "bounds",
    "critics",
    "data",
    "distribute",
    "encoders",
    "estimators",
    "evaluation",
    "export",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "views",
    "__version__",
]
