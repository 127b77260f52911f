"""keras_infomin.data."""
