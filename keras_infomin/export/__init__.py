"""keras_infomin.export."""
