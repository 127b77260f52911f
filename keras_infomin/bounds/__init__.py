"""keras_infomin.bounds."""
