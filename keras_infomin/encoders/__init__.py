"""keras_infomin.encoders."""
