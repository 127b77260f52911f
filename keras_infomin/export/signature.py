"""Input signatures of exported encoders: inferred from the model or given.

An exported function needs the shape and dtype of its input. For a built
functional or sequential model they are those of `model.input`; for a
subclassed model or a layer built by a call on data, those recorded at build
time. The batch dimension is always left free (`None`) when inferred.
"""

import keras
import tensorflow as tf


def _with_free_batch(shape):
    shape = list(shape)
    if shape:
        shape[0] = None
    return shape


def _from_keras_tensor(tensor, name):
    return tf.TensorSpec(
        _with_free_batch(tensor.shape), tf.as_dtype(tensor.dtype), name=name
    )


def _name(base, path):
    return "_".join([base, *[str(p) for p in path]]) if path else base


def _spec_from_user(value, name):
    if isinstance(value, tf.TensorSpec):
        return tf.TensorSpec(value.shape, value.dtype, name=name)
    if isinstance(value, keras.InputSpec):
        if value.shape is None:
            raise ValueError(
                f"`input_signature` entry {name!r} is a keras.InputSpec "
                "without a shape; give the full shape, e.g. (None, 32)."
            )
        return tf.TensorSpec(
            value.shape, tf.as_dtype(value.dtype or "float32"), name=name
        )
    if isinstance(value, keras.KerasTensor):
        return _from_keras_tensor(value, name)
    if _is_shape(value):
        return tf.TensorSpec(tuple(value), tf.float32, name=name)
    raise TypeError(
        "`input_signature` must be a tf.TensorSpec, a keras.InputSpec, a "
        "shape tuple including the batch dimension such as (None, 32), or a "
        f"dict/list of those; received {value!r} for input {name!r}."
    )


def _is_shape(value):
    return isinstance(value, (list, tuple)) and all(
        d is None or (isinstance(d, int) and not isinstance(d, bool))
        for d in value
    )


def normalize_input_signature(signature, input_name="inputs"):
    """Turns a user-given input signature into named `tf.TensorSpec`s.

    Args:
        signature: the spec of the encoder's single `inputs` argument: a
            `tf.TensorSpec`, a `keras.InputSpec`, a shape tuple with the
            batch dimension (dtype float32), a list holding exactly one of
            those (the `tf.function(input_signature=[...])` style), or a
            dict / list of those for encoders with several inputs.
        input_name: base name of the inputs; dict keys name dict entries,
            list entries are named `{input_name}_{i}`.

    Returns:
        A `tf.TensorSpec` or a dict / list of them, every spec named.

    Example:

    ```python
    normalize_input_signature((None, 32, 32, 3))
    # TensorSpec(shape=(None, 32, 32, 3), dtype=tf.float32, name='inputs')
    ```
    """
    if isinstance(signature, dict):
        out = {}
        for key, value in signature.items():
            if not isinstance(key, str):
                raise TypeError(
                    "`input_signature` dict keys must be strings (they name "
                    f"the serving inputs); received key {key!r}."
                )
            out[key] = _spec_from_user(value, key)
        return out
    if isinstance(signature, (list, tuple)) and not _is_shape(signature):
        if len(signature) == 1:
            return _spec_from_user(signature[0], input_name)
        return [
            _spec_from_user(v, _name(input_name, [i]))
            for i, v in enumerate(signature)
        ]
    return _spec_from_user(signature, input_name)


def infer_input_signature(encoder, input_name="inputs"):
    """The input signature of a built Keras model or layer, batch left free.

    Args:
        encoder: a built `keras.Model` or `keras.layers.Layer`.
        input_name: base name of the inputs (see
            `normalize_input_signature`).

    Returns:
        A `tf.TensorSpec` (or dict / list of them) with a `None` batch
        dimension.

    Raises:
        ValueError: the encoder is not built, or its input cannot be told
            from what was recorded when it was built.

    Example:

    ```python
    encoder = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4)])
    infer_input_signature(encoder)
    # TensorSpec(shape=(None, 8), dtype=tf.float32, name='inputs')
    ```
    """
    if not isinstance(encoder, keras.layers.Layer):
        raise TypeError(
            "`encoder` must be a Keras model or layer; received "
            f"{type(encoder).__name__}."
        )
    if not encoder.built:
        raise ValueError(
            f"The encoder {encoder.name!r} is not built, so its input shape "
            "is unknown. Call it on a batch of data first (encoder(x)), or "
            "pass input_signature=tf.TensorSpec((None, ...), 'float32')."
        )
    structure = None
    if isinstance(encoder, keras.Model):
        try:
            structure = encoder.input
        except (AttributeError, ValueError):
            structure = None
    if structure is not None:
        if isinstance(structure, keras.KerasTensor):
            return _from_keras_tensor(structure, input_name)
        if isinstance(structure, dict):
            return {k: _from_keras_tensor(v, k) for k, v in structure.items()}
        if isinstance(structure, (list, tuple)):
            if len(structure) == 1:
                return _from_keras_tensor(structure[0], input_name)
            return [
                _from_keras_tensor(v, _name(input_name, [i]))
                for i, v in enumerate(structure)
            ]
    shapes = getattr(encoder, "_build_shapes_dict", None) or {}
    if len(shapes) == 1:
        shape = next(iter(shapes.values()))
        if _is_shape(shape):
            dtype = tf.as_dtype(getattr(encoder, "input_dtype", "float32"))
            return tf.TensorSpec(
                _with_free_batch(shape), dtype, name=input_name
            )
    recorded = shapes or "no recorded shapes"
    raise ValueError(
        f"Cannot infer the input signature of {encoder.name!r} (a "
        f"{type(encoder).__name__} built with {recorded}). Pass "
        "input_signature=tf.TensorSpec((None, ...), dtype) explicitly."
    )
