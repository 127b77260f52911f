"""keras_infomin.distribute."""
