"""keras_infomin.views."""
