"""Any `keras.applications` backbone as a pooled-feature encoder."""

import inspect

import keras


def _application_names():
    return sorted(
        name
        for name, obj in vars(keras.applications).items()
        if callable(obj) and not inspect.ismodule(obj) and name[:1].isupper()
    )


def _lookup(name):
    names = _application_names()
    key = str(name).replace("-", "").replace("_", "").lower()
    matches = [n for n in names if n.replace("_", "").lower() == key]
    if not matches:
        raise ValueError(
            f"`name` must be one of keras.applications' models; received "
            f"name={name!r}. Available: {', '.join(names)}."
        )
    return getattr(keras.applications, matches[0])


def applications_backbone(
    name,
    input_shape,
    weights=None,
    pooling="avg",
    trainable=True,
    model_name=None,
    **kwargs,
):
    """Builds a `keras.applications` backbone as an encoder model.

    The backbone is created with `include_top=False` and global pooling, so
    the returned functional model maps `[batch, *input_shape]` images to
    `[batch, features]` vectors. Inputs must be preprocessed the way the
    chosen backbone expects (see `keras.applications.<family>.
    preprocess_input`; some families, e.g. EfficientNet, rescale inside
    the model).

    Args:
        name: class name in `keras.applications`, case-insensitive and
            ignoring `_`/`-` (e.g. `"ResNet50"`, `"resnet50"`,
            `"MobileNetV2"`, `"efficientnet_b0"`).
        input_shape: `(height, width, channels)`.
        weights: `None` (random initialisation; the default, since
            pretrained weights need a download), `"imagenet"`, or a path.
        pooling: `"avg"` or `"max"`.
        trainable: whether the backbone's weights are trainable.
        model_name: optional name of the returned model
            (default `"<name>_encoder"`).
        **kwargs: further arguments of the application constructor (e.g.
            `alpha=0.35` for MobileNetV2).

    Returns:
        A `keras.Model` with one image input and one pooled-feature output.

    Example:

    >>> encoder = applications_backbone("MobileNetV2", (32, 32, 3),
    ...                                 alpha=0.35)
    >>> encoder(np.zeros((2, 32, 32, 3), "float32")).shape
    (2, 1280)
    """
    if pooling not in ("avg", "max"):
        raise ValueError(
            f"`pooling` must be 'avg' or 'max'; received pooling={pooling!r}."
        )
    if len(tuple(input_shape)) != 3:
        raise ValueError(
            "`input_shape` must be (height, width, channels); received "
            f"input_shape={input_shape!r}."
        )
    constructor = _lookup(name)
    backbone = constructor(
        include_top=False,
        weights=weights,
        input_shape=tuple(input_shape),
        pooling=pooling,
        **kwargs,
    )
    backbone.trainable = bool(trainable)
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    outputs = backbone(inputs)
    return keras.Model(
        inputs, outputs, name=model_name or f"{backbone.name}_encoder"
    )
