"""keras_infomin.metrics."""
