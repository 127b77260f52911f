"""Small shared helpers: serialization registration and argument checks."""

from keras_infomin.utils.serialization import register
from keras_infomin.utils.validation import check_float_tensor
from keras_infomin.utils.validation import check_in_range
from keras_infomin.utils.validation import check_int
from keras_infomin.utils.validation import check_positive
from keras_infomin.utils.validation import check_rank

__all__ = [
    "register",
    "check_float_tensor",
    "check_in_range",
    "check_int",
    "check_positive",
    "check_rank",
]
