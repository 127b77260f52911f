"""`python -m keras_infomin.cli`: the `keras-infomin` command."""

from keras_infomin.cli import entry_point

entry_point()
