"""Load an `export_hub` SavedModel with input checks and clear errors.

`tf.saved_model.load(path)(x)` with a wrongly shaped `x` fails with a long
"Could not find matching concrete function" listing. `load_hub` returns a
`LoadedEncoder` that checks the input structure, dtype and shape against the
exported signature first and says what was expected.
"""

import os

import tensorflow as tf

from keras_infomin.export.hub import SAVED_MODEL_FILE


def _exported_input_spec(loaded, path):
    call = vars(loaded).get("__call__")
    functions = getattr(call, "concrete_functions", None) or []
    for fn in functions:
        args, kwargs = fn.structured_input_signature
        spec = args[0] if args else kwargs.get("inputs")
        if spec is not None:
            return spec
    raise ValueError(
        f"{path!r} is a SavedModel without a traced `__call__(inputs, "
        "training)`; it was not written by export_hub (or a compatible "
        "reusable-SavedModel exporter)."
    )


def _format(spec):
    return tf.nest.map_structure(
        lambda s: f"{tuple(s.shape.as_list())} {s.dtype.name}", spec
    )


class LoadedEncoder:
    """A SavedModel written by `export_hub`, callable with input checks.

    Attributes:
        module: the object returned by `tf.saved_model.load`.
        input_signature: the exported input spec (`tf.TensorSpec` or a
            dict / list of them).
        variables, trainable_variables, regularization_losses: those of the
            SavedModel.
        signatures: the SavedModel's signatures (`serving_default`, ...).

    Example:

    ```python
    encoder = load_hub("/tmp/encoder")
    z = encoder(x)                  # inference
    z = encoder(x, training=True)   # batch statistics, dropout active
    ```
    """

    def __init__(self, path):
        self.path = path
        self.module = tf.saved_model.load(path)
        self.input_signature = _exported_input_spec(self.module, path)
        self.variables = list(self.module.variables)
        self.trainable_variables = list(self.module.trainable_variables)
        self.regularization_losses = list(
            getattr(self.module, "regularization_losses", [])
        )
        self.signatures = self.module.signatures

    def _check(self, inputs):
        spec = self.input_signature
        expected = _format(spec)
        try:
            tf.nest.assert_same_structure(spec, inputs, check_types=False)
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"`inputs` must have the structure of the exported input "
                f"{expected}; received {type(inputs).__name__}: {error}"
            ) from None
        flat = []
        for s, value in zip(tf.nest.flatten(spec), tf.nest.flatten(inputs)):
            value = tf.convert_to_tensor(value)
            if value.dtype != s.dtype:
                if value.dtype.is_floating and s.dtype.is_floating:
                    value = tf.cast(value, s.dtype)
                else:
                    raise TypeError(
                        f"Input {s.name!r} must have dtype {s.dtype.name}; "
                        f"received {value.dtype.name}."
                    )
            if not s.shape.is_compatible_with(value.shape):
                raise ValueError(
                    f"Input {s.name!r} must have shape "
                    f"{tuple(s.shape.as_list())} (None = any size, the "
                    f"first axis is the batch); received "
                    f"{tuple(value.shape.as_list())}."
                )
            flat.append(value)
        return tf.nest.pack_sequence_as(spec, flat)

    def __call__(self, inputs, training=False):
        """Runs the exported `__call__` after checking `inputs`.

        Args:
            inputs: a tensor / array (or dict / list) matching
                `input_signature`; floating inputs are cast to its dtype.
            training: Python bool, the mode of batch normalization and
                dropout.

        Returns:
            The encoder's outputs.
        """
        if not isinstance(training, bool):
            raise TypeError(
                "`training` must be a Python bool (the export holds one "
                f"trace per value); received {training!r}."
            )
        return self.module(self._check(inputs), training=training)

    def serve(self, **inputs):
        """Calls the `serving_default` signature (named inputs -> dict)."""
        if "serving_default" not in self.signatures:
            raise ValueError(
                f"{self.path!r} was exported without a serving signature "
                "(export_hub(..., serving=True) adds it)."
            )
        return self.signatures["serving_default"](**inputs)


def load_hub(path):
    """Loads a SavedModel written by `export_hub`.

    Args:
        path: the export directory.

    Returns:
        A `LoadedEncoder`, which checks its inputs against the exported
        signature and raises errors that name the expected shape.

    Raises:
        FileNotFoundError: `path` is not a SavedModel directory.
        ValueError: the SavedModel has no reusable `__call__`.

    Example:

    ```python
    export_hub(encoder, "/tmp/encoder")
    loaded = load_hub("/tmp/encoder")
    loaded(np.zeros((4, 8), "float32"))
    ```
    """
    path = os.fspath(path)
    if not os.path.isfile(os.path.join(path, SAVED_MODEL_FILE)):
        raise FileNotFoundError(
            f"{path!r} is not a SavedModel directory (no {SAVED_MODEL_FILE})."
        )
    return LoadedEncoder(path)
