"""What the contrastive trainers share: views from batches, configs."""

import keras
from keras import ops

from keras_infomin import critics


def as_list(value, count, name):
    """`value` repeated `count` times, or a list of exactly `count` items."""
    if isinstance(value, (list, tuple)):
        if len(value) != count:
            raise ValueError(
                f"`{name}` must be one layer (shared by all views) or a list "
                f"with one layer per view ({count}); received "
                f"{len(value)} items."
            )
        return list(value)
    return [value] * count


def default_critic(critic, temperature, default_temperature):
    """`critic`, or the cosine critic at `temperature` when it is `None`.

    The temperature is the critic's: a trainer's `temperature` argument
    only configures its default critic, so both together are refused.
    """
    if critic is None:
        if temperature is None:
            temperature = default_temperature
        return critics.InnerProduct(cosine=True, temperature=temperature)
    if temperature is not None:
        raise ValueError(
            "`temperature` configures the default cosine critic; with your "
            "own critic, give it the temperature (e.g. critics.InnerProduct("
            f"cosine=True, temperature={temperature})). Received both."
        )
    return critics.get(critic)


def clone_layer(layer, name=None):
    """A new layer with `layer`'s config (fresh weights), or `None`."""
    if layer is None:
        return None
    config = keras.saving.serialize_keras_object(layer)
    clone = keras.saving.deserialize_keras_object(config)
    if name is not None:
        clone.name = name
    return clone


def serialize(value):
    """Keras objects (and lists of them) serialised; plain values kept."""
    if isinstance(value, (list, tuple)):
        return [serialize(v) for v in value]
    if hasattr(value, "get_config"):
        return keras.saving.serialize_keras_object(value)
    return value


def deserialize(value):
    """The inverse of `serialize`."""
    if isinstance(value, list):
        return [deserialize(v) for v in value]
    if isinstance(value, dict) and "class_name" in value:
        return keras.saving.deserialize_keras_object(value)
    return value


def split_batch(data, view_layer, num_views, training):
    """Returns `(views, labels)` from a batch given to `fit`/`evaluate`.

    Accepted batches:
      - with a `view_layer`: `images` or `(images, labels)`; the layer makes
        the views (random augmentation with `training=True`);
      - without: `(views,)` or `(views, labels)` where `views` is a tuple or
        list of tensors (`fit(x=(v1, v2))`), a dict with key `"views"`, or
        a flat `(v1, v2)` pair of same-rank float tensors (a dataset that
        yields two views).
    """
    if isinstance(data, dict):
        views = data.get("views")
        if views is None:
            raise ValueError(
                "A dict batch must hold the views under the key 'views'; "
                f"received keys {sorted(data)}."
            )
        return tuple(views), data.get("labels")
    x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
    if view_layer is not None:
        views = view_layer(x, training=training)
        return tuple(views), y
    if isinstance(x, (tuple, list)):
        return tuple(x), y
    if (
        y is not None
        and num_views == 2
        and len(x.shape) == len(y.shape)
        and "float" in str(y.dtype)
    ):
        return (x, y), None
    raise ValueError(
        "Without a `view_layer` the batches must carry the views: (views,), "
        "(views, labels) with views a tuple of tensors, or a dataset of "
        "(view_1, view_2) pairs; received a single tensor of shape "
        f"{tuple(x.shape)}. Pass a view layer (e.g. "
        "keras_infomin.views.Views(InfoMinAugment(32))) to augment images "
        "inside the model."
    )


def check_views(views, num_views):
    if len(views) != num_views:
        raise ValueError(
            f"The model expects {num_views} views per batch; received "
            f"{len(views)}."
        )
    batch = {v.shape[0] for v in views if v.shape[0] is not None}
    if len(batch) > 1:
        raise ValueError(
            "All views of a batch must hold the same examples; received "
            f"batch sizes {sorted(batch)}."
        )


def unbatched_shape(x):
    """`(None,) + x.shape[1:]`: a build shape that fits any batch size."""
    return (None,) + tuple(x.shape[1:])


def call_input_shape(data, view_layer, num_views):
    """The shape `call` would receive for this batch (to build on the fly).

    With a view layer, `call` takes the images; without one, the views.
    """
    if view_layer is not None and not isinstance(data, dict):
        x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
        return unbatched_shape(x)
    views, _ = split_batch(data, None, num_views, training=False)
    return tuple(unbatched_shape(v) for v in views)


def symbolic(shape, dtype="float32"):
    return keras.KerasTensor(tuple(shape), dtype=dtype)


def is_shape(value):
    """True for one shape (a tuple of ints/None), False for a tuple of them."""
    return isinstance(value, (tuple, list)) and all(
        v is None or isinstance(v, int) for v in value
    )


def l2_normalize(z):
    return ops.normalize(z, axis=-1)
