"""Export encoders for reuse: TF Hub SavedModel, TF Serving, Keras 3.

export_hub                 one SavedModel for hub.KerasLayer (fine-tuning),
                           keras.layers.TFSMLayer and TF Serving
load_hub, LoadedEncoder    load it back with input checks
infer_input_signature      input spec of a built Keras model or layer
normalize_input_signature  user spec -> named tf.TensorSpec(s)
"""

from keras_infomin.export.hub import export_hub
from keras_infomin.export.loading import LoadedEncoder
from keras_infomin.export.loading import load_hub
from keras_infomin.export.signature import infer_input_signature
from keras_infomin.export.signature import normalize_input_signature

__all__ = [
    "LoadedEncoder",
    "export_hub",
    "infer_input_signature",
    "load_hub",
    "normalize_input_signature",
]
