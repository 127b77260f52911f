"""Export a Keras 3 encoder as a reusable TF2 SavedModel (TF Hub format).

Keras 3's `model.export(path)` writes a SavedModel for inference whose
endpoints are signatures; `hub.KerasLayer` refuses it ("Signature name has
to be specified for non-callable saved models"). The reusable SavedModel
convention that `hub.KerasLayer` and `hub.load` understand is an object
with

- `__call__(inputs, training=False)`: a `tf.function` traced for
  `training=True` and `training=False` (batch normalization uses batch
  statistics and updates its moving averages, dropout is active, when
  `training=True`);
- `variables`, `trainable_variables`: the weights it reads, so that
  `hub.KerasLayer(path, trainable=True)` fine-tunes them;
- `regularization_losses`: zero-argument functions returning the weight
  penalties (kernel / bias regularizers) to add to the fine-tuning loss.

`export_hub` writes exactly that, plus, in the same directory, a
`serving_default` signature with named inputs and outputs for TF Serving
and `saved_model_cli`, and a `serve(inputs)` endpoint (inference mode) for
`keras.layers.TFSMLayer(path)`. One artefact thus serves fine-tuning, Keras
3 inference and TF Serving; there is no separate serving export.

Only the variables that `call` reads are exported: for a trainer of
`keras_infomin.models`, whose `call` returns the representation, that is
the representation path (encoders, and a learned view generator), never
its projection head, critic, momentum encoder or queue, so
`hub.KerasLayer(path, trainable=True)` fine-tunes it without "Gradients
do not exist" warnings.

Gradients. The traced functions are built from ordinary TensorFlow ops;
custom gradients an encoder may define (`tf.custom_gradient`,
`keras.ops.custom_gradient`) are stored with the functions
(`SaveOptions(experimental_custom_gradients=True)`), so fine-tuning through
the loaded model differentiates exactly as the Keras encoder does.
"""

import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from keras_infomin.export.signature import infer_input_signature
from keras_infomin.export.signature import normalize_input_signature

SAVED_MODEL_FILE = "saved_model.pb"


def _named_outputs(outputs, output_name):
    if isinstance(outputs, dict):
        return {str(k): v for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return {f"{output_name}_{i}": v for i, v in enumerate(outputs)}
    return {output_name: outputs}


def _regularization_loss_fn(variable):
    regularizer = variable.regularizer

    def penalty():
        return tf.cast(regularizer(variable), tf.float32)

    return tf.function(penalty, input_signature=[])


def _captured_ids(functions):
    """Ids of the variables (and their replica components) functions read."""
    ids = set()
    for function in functions:
        for variable in function.variables:
            ids.add(id(variable))
            for component in getattr(variable, "values", ()):
                ids.add(id(component))
    return ids


def _used(variables, ids):
    """The Keras `variables` whose TensorFlow variable is in `ids`."""
    used = []
    for variable in variables:
        value = variable.value
        parts = [value, *getattr(value, "values", ())]
        if any(id(part) in ids for part in parts):
            used.append(variable)
    return used


class _HubModule(tf.__internal__.tracking.AutoTrackable):
    """The object saved by `export_hub` (see the module docstring)."""

    def __init__(self, encoder, spec):
        super().__init__()

        def call(inputs, training=False):
            return encoder(inputs, training=training)

        def serve(inputs):
            return encoder(inputs, training=False)

        # Trace first: layers that create weights lazily do so now. The
        # export keeps the variables the traced functions read, no others:
        # a trainer's projection head or critic is not on the path of its
        # `call` (the representation), so fine-tuning sees no variable
        # without a gradient.
        call_fn = tf.function(call)
        traced = [
            call_fn.get_concrete_function(spec, training=training)
            for training in (False, True)
        ]
        serve_fn = tf.function(serve, input_signature=[spec])
        traced.append(serve_fn.get_concrete_function())
        read = _captured_ids(traced)
        trainable = _used(encoder.trainable_variables, read)
        seen = {id(v) for v in trainable}
        others = [
            v for v in _used(encoder.variables, read) if id(v) not in seen
        ]
        self.variables = [v.value for v in trainable + others]
        self.trainable_variables = [v.value for v in trainable]
        self.regularization_losses = [
            _regularization_loss_fn(v)
            for v in trainable
            if getattr(v, "regularizer", None) is not None
        ]
        self.__call__ = call_fn
        self.serve = serve_fn


def _serving_function(encoder, spec, output_name):
    flat_specs = tf.nest.flatten(spec)

    def serving_default(*flat_inputs):
        inputs = tf.nest.pack_sequence_as(spec, list(flat_inputs))
        return _named_outputs(encoder(inputs, training=False), output_name)

    fn = tf.function(serving_default, input_signature=flat_specs)
    return fn.get_concrete_function()


def _build_symbolically(encoder, spec):
    """Builds an unbuilt encoder by calling it on symbolic inputs."""
    symbolic = tf.nest.map_structure(
        lambda s: keras.Input(
            batch_shape=tuple(s.shape.as_list()), dtype=s.dtype.name
        ),
        spec,
    )
    try:
        encoder(symbolic)
    except Exception as error:  # noqa: BLE001 - re-raised with context
        raise ValueError(
            f"Could not build the encoder {encoder.name!r} from "
            f"input_signature={spec}: {error}. Call it on a batch of data "
            "before exporting."
        ) from error


def _is_saved_model_dir(path):
    return os.path.isdir(path) and os.path.isfile(
        os.path.join(path, SAVED_MODEL_FILE)
    )


def _check_target(path, overwrite):
    if not os.path.lexists(path):
        return False
    if not overwrite:
        raise FileExistsError(
            f"`path` {path!r} already exists. Pass overwrite=True to "
            "replace it, or choose another path."
        )
    empty_dir = os.path.isdir(path) and not os.listdir(path)
    if not (_is_saved_model_dir(path) or empty_dir):
        raise FileExistsError(
            f"`path` {path!r} exists and is not a SavedModel directory (no "
            f"{SAVED_MODEL_FILE} inside); refusing to delete it even with "
            "overwrite=True. Remove it yourself or choose another path."
        )
    return True


def _probe_inputs(spec):
    """Random inputs matching `spec` (batch 2), or None if not float/known.

    Values are uniform in [0, 1): inside every value range a view layer
    of the model may check (images in [0, 1], [0, 255] or [-1, 1]).
    """
    rng = np.random.default_rng(0)
    flat = []
    for s in tf.nest.flatten(spec):
        dims = s.shape.as_list()[1:] if s.shape.rank else None
        if dims is None or any(d is None for d in dims):
            return None
        if not s.dtype.is_floating:
            return None
        value = rng.uniform(size=[2, *dims]).astype(s.dtype.as_numpy_dtype)
        flat.append(tf.constant(value))
    return tf.nest.pack_sequence_as(spec, flat)


def _verify(encoder, directory, spec, serving, output_name):
    probe = _probe_inputs(spec)
    if probe is None:
        return
    expected = tf.nest.map_structure(np.asarray, encoder(probe, training=False))
    loaded = tf.saved_model.load(directory)
    got = loaded(probe, training=False)
    results = [(expected, got)]
    if serving:
        sig = loaded.signatures["serving_default"]
        flat_specs = tf.nest.flatten(spec)
        kwargs = {s.name: t for s, t in zip(flat_specs, tf.nest.flatten(probe))}
        results.append((_named_outputs(expected, output_name), sig(**kwargs)))
    for want, have in results:
        for w, h in zip(tf.nest.flatten(want), tf.nest.flatten(have)):
            w, h = np.asarray(w), np.asarray(h)
            if w.shape != h.shape:
                detail = f"shape {h.shape} instead of {w.shape}"
            elif not np.allclose(w, h, rtol=1e-4, atol=1e-5):
                detail = f"max difference {np.max(np.abs(w - h)):.3g}"
            else:
                continue
            raise RuntimeError(
                "The exported SavedModel does not reproduce the encoder's "
                f"outputs on a random probe batch ({detail}). Does the "
                "encoder's call depend on Python state?"
            )


def export_hub(
    encoder,
    path,
    overwrite=False,
    input_signature=None,
    serving=True,
    input_name="inputs",
    output_name="outputs",
    verify=True,
):
    """Writes `encoder` as a reusable TF2 SavedModel (TF Hub format).

    The directory holds `__call__(inputs, training=False)` (traced for both
    values of `training`), `variables`, `trainable_variables` and
    `regularization_losses` for `hub.KerasLayer(path, trainable=True)` and
    `tf.saved_model.load`; a `serve(inputs)` endpoint for
    `keras.layers.TFSMLayer(path)`; and, unless `serving=False`, a
    `serving_default` signature for TF Serving whose input is named
    `input_name` (dict inputs keep their keys) and whose output is the dict
    `{output_name: outputs}` (dict outputs keep their keys, list outputs
    become `{output_name}_{i}`).

    Args:
        encoder: a built `keras.Model` or `keras.layers.Layer`, e.g. a
            trainer of `keras_infomin.models` (its representation is
            exported) or one of its encoders.
        path: directory to write (must not exist unless `overwrite`).
        overwrite: replace an existing SavedModel directory (or empty
            directory) at `path`. Anything else at `path` is never deleted.
        input_signature: optional spec of the input: a `tf.TensorSpec`, a
            `keras.InputSpec`, a shape tuple with the batch dimension (e.g.
            `(None, 32, 32, 3)`, float32), or a dict / list of those for
            several inputs. Default: inferred from the built encoder, with
            a free (`None`) batch dimension.
        serving: whether to add the `serving_default` signature.
        input_name: name of the serving input (single-tensor input).
        output_name: name of the serving output (single-tensor output).
        verify: reload the export and check that it reproduces the
            encoder's inference outputs on a random probe batch (skipped
            for inputs with unknown non-batch dimensions or integer dtype).

    Returns:
        The path written (`str`).

    Raises:
        ValueError: the encoder is not built and no `input_signature` is
            given, or the input signature cannot be inferred.
        FileExistsError: `path` exists and `overwrite` is False, or it is
            not a SavedModel directory.

    Example:

    ```python
    encoder = keras.Sequential([keras.Input((32, 32, 3)), ...])
    export_hub(encoder, "/tmp/encoder")
    # In a tf-keras model, fine-tuned:
    layer = hub.KerasLayer("/tmp/encoder", trainable=True)
    # In Keras 3, for inference:
    layer = keras.layers.TFSMLayer("/tmp/encoder")
    ```
    """
    if not isinstance(encoder, keras.layers.Layer):
        raise TypeError(
            "`encoder` must be a Keras 3 model or layer; received "
            f"{type(encoder).__name__}."
        )
    for name, value in (
        ("input_name", input_name),
        ("output_name", output_name),
    ):
        if not isinstance(value, str) or not value.isidentifier():
            raise ValueError(
                f"`{name}` must be a Python identifier (it names a serving "
                f"tensor); received {value!r}."
            )
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"`path` must be a string or path; received {type(path).__name__}."
        )
    path = os.fspath(path)
    if input_signature is None:
        spec = infer_input_signature(encoder, input_name)
    else:
        spec = normalize_input_signature(input_signature, input_name)
    replace = _check_target(path, overwrite)
    if not encoder.built:
        _build_symbolically(encoder, spec)

    module = _HubModule(encoder, spec)
    # An empty mapping, not None: with None, TensorFlow would promote the
    # `serve` endpoint to a default signature.
    signatures = {}
    if serving:
        signatures = {
            "serving_default": _serving_function(encoder, spec, output_name)
        }
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
    partial = os.path.join(
        parent, f".{os.path.basename(path)}.partial-{os.getpid()}"
    )
    shutil.rmtree(partial, ignore_errors=True)
    try:
        tf.saved_model.save(
            module,
            partial,
            signatures=signatures,
            options=tf.saved_model.SaveOptions(
                experimental_custom_gradients=True
            ),
        )
        if verify:
            _verify(encoder, partial, spec, serving, output_name)
        if replace:
            if os.path.isdir(path):
                shutil.rmtree(path)
            else:
                os.remove(path)
        os.replace(partial, path)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return path
