"""keras_infomin.optimizers."""
