"""keras_infomin.models."""
