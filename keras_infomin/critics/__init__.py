"""keras_infomin.critics."""
