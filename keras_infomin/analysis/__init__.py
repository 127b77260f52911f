"""Workflows above the trainers: sweeps over views, image arrays, tables.

sweep              train at one budget per value of a knob, measure the
                   held-out I_NCE between the views (fresh critic) and the
                   probe accuracy, name the sweet spot; resumable, tables
                   and figures (returns a `SweepResult`)
Knob, KNOBS, get_knob, parse_values
                   families of views indexed by a value: crop scale,
                   jitter strength, patch distance, colour space
load_images, load_splits, resolve
                   random image subsets as arrays from folders, .tar.gz
                   archives or tfds names
write_table, reverse_u_fit, describe_fit
                   CSV + Markdown tables; the reverse-U check
"""

from keras_infomin.analysis.images import load_images
from keras_infomin.analysis.images import load_splits
from keras_infomin.analysis.images import resolve
from keras_infomin.analysis.knobs import COLOUR_SPLITS
from keras_infomin.analysis.knobs import KNOBS
from keras_infomin.analysis.knobs import Knob
from keras_infomin.analysis.knobs import get_knob
from keras_infomin.analysis.knobs import parse_values
from keras_infomin.analysis.results import SweepResult
from keras_infomin.analysis.sweeps import sweep
from keras_infomin.analysis.tables import describe_fit
from keras_infomin.analysis.tables import reverse_u_fit
from keras_infomin.analysis.tables import write_table

__all__ = [
    "COLOUR_SPLITS",
    "KNOBS",
    "Knob",
    "SweepResult",
    "describe_fit",
    "get_knob",
    "load_images",
    "load_splits",
    "parse_values",
    "resolve",
    "reverse_u_fit",
    "sweep",
    "write_table",
]
