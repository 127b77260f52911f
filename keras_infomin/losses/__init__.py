"""keras_infomin.losses."""
