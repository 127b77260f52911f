"""keras_infomin.evaluation."""
