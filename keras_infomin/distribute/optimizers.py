"""Building optimizers inside the strategy scope before training starts.

A Keras 3 optimizer creates its state (iteration counter, momenta, ...) on
the first `apply_gradients`. In a custom `train_step` run by `model.fit`
under a `tf.distribute` strategy, that first call happens inside
`strategy.run`, i.e. in replica context, where variables cannot be created
as mirrored variables: training fails or hangs. `model.compile` builds the
optimizer it is given, but a trainer with several optimizers (encoder,
critic, view generator) must build the others itself. `build_optimizers`
does so in the model's strategy scope, before `fit`.
"""

import keras
import tensorflow as tf


def _variables_of(item, name):
    if isinstance(item, keras.layers.Layer):
        if not item.built:
            raise ValueError(
                f"`{name}` is the layer {item.name!r}, which is not built; "
                "call it on a batch of data (or call `build`) before "
                "building its optimizer."
            )
        return list(item.trainable_variables)
    if isinstance(item, (list, tuple)):
        return list(item)
    raise TypeError(
        f"`{name}` must be a Keras layer or a list of variables; received "
        f"{type(item).__name__}."
    )


def build_optimizers(model, *optimizers, strategy=None):
    """Builds optimizers inside `model`'s distribution strategy scope.

    Args:
        model: a built Keras model (its `distribute_strategy`, captured when
            the model was created, is used unless `strategy` is given).
        *optimizers: each either a `keras.optimizers.Optimizer` (created
            inside the strategy's scope, like the model), built over
            `model.trainable_variables`, or a pair `(optimizer, variables)`
            where `variables` is a list of variables or a (built) layer whose
            trainable variables the optimizer will update. Optimizers that
            are already built are left as they are.
        strategy: optional `tf.distribute.Strategy` to use instead of the
            model's.

    Returns:
        The list of optimizers, in the order given.

    Example:

    ```python
    with strategy.scope():
        model = InfoMinTrainer(encoder, critic)
        model.compile(optimizer=keras.optimizers.SGD(0.1))
    model(x_sample)  # build
    build_optimizers(
        model,
        (keras.optimizers.Adam(1e-3), model.critic),
        (keras.optimizers.Adam(1e-4), model.view_generator),
    )
    model.fit(dataset)
    ```
    """
    if not isinstance(model, keras.layers.Layer):
        raise TypeError(
            "`model` must be a Keras model or layer; received "
            f"{type(model).__name__}."
        )
    if strategy is None:
        strategy = getattr(model, "distribute_strategy", None)
    if strategy is None:
        strategy = tf.distribute.get_strategy()
    pairs = []
    for i, entry in enumerate(optimizers):
        name = f"optimizers[{i}]"
        if isinstance(entry, (list, tuple)):
            if len(entry) != 2:
                raise ValueError(
                    f"`{name}` must be an optimizer or a pair (optimizer, "
                    f"variables); received a sequence of length {len(entry)}."
                )
            optimizer, variables = entry
            variables = _variables_of(variables, f"{name}[1]")
        else:
            optimizer = entry
            variables = _variables_of(model, "model")
        if not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(
                f"`{name}` must be a keras.optimizers.Optimizer; received "
                f"{type(optimizer).__name__}."
            )
        if not variables and not optimizer.built:
            raise ValueError(
                f"`{name}` has no variables to build over: build the model "
                "(call it on a batch of data) before `build_optimizers`."
            )
        captured = getattr(optimizer, "_distribution_strategy", strategy)
        if captured is not strategy and not optimizer.built:
            raise ValueError(
                f"`{name}` ({optimizer.name}) was created outside the scope "
                f"of the model's strategy ({type(strategy).__name__}); a "
                "Keras optimizer keeps the strategy current at its creation. "
                "Create it inside `with strategy.scope():`."
            )
        pairs.append((optimizer, variables))
    with strategy.scope():
        for optimizer, variables in pairs:
            if not optimizer.built:
                optimizer.build(variables)
    return [optimizer for optimizer, _ in pairs]
