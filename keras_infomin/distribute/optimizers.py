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
from keras import ops

from keras_infomin.distribute.replica import num_replicas


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


def apply_if(optimizer, grads, variables, condition):
    """`optimizer.apply(grads, variables)` on the steps where `condition` holds.

    A trainer that updates one player every k steps (an adversarial view
    generator, a critic trained on a schedule) wants `ops.cond(due, apply,
    noop)`. With one replica that is all this does. Under a multi-replica
    strategy Keras' `apply` all-reduces the gradients and updates mirrored
    variables through `merge_call`, which cannot sit inside a control-flow
    branch of the replica function (TensorFlow raises a `RuntimeError`;
    Keras' own `gradient_accumulation_steps` fails the same way). Here the
    gradients are summed over replicas on every step, outside any branch,
    and the conditional update runs once, in cross-replica context, where
    it updates every replica's copy of the variables and of the optimizer's
    slots. The result equals one replica applying the same global-batch
    gradients.

    Args:
        optimizer: a built `keras.optimizers.Optimizer`.
        grads: list of gradients, one per variable (`None` entries are
            skipped by Keras as usual), or a function of no arguments
            returning them: with one replica it only runs on the steps
            that update, so a player's backward pass costs nothing on the
            others.
        variables: list of the variables to update.
        condition: boolean scalar tensor, the same on every replica (derive
            it from `optimizer.iterations` or another mirrored counter).

    Returns:
        A boolean scalar tensor: whether the update was applied.

    Example:

    ```python
    due = ops.equal((self.optimizer.iterations + 1) % every, 0)
    apply_if(self.critic_optimizer, critic_grads, critic_vars, due)
    ```
    """
    variables = list(variables)

    def gradients():
        values = list(grads() if callable(grads) else grads)
        if len(values) != len(variables):
            raise ValueError(
                "`grads` and `variables` must have the same length; received "
                f"{len(values)} gradients for {len(variables)} variables."
            )
        return values

    context = tf.distribute.get_replica_context()
    if context is None or num_replicas() == 1:

        def update():
            optimizer.apply(gradients(), variables)
            return ops.ones((), "bool")

        return ops.cond(condition, update, lambda: ops.zeros((), "bool"))

    grads = gradients()

    present = [k for k, g in enumerate(grads) if g is not None]
    reduced = context.all_reduce(
        tf.distribute.ReduceOp.SUM, [grads[k] for k in present]
    )
    summed = [None] * len(grads)
    for k, g in zip(present, reduced):
        summed[k] = g

    def merge_fn(strategy, summed, condition):
        due = strategy.experimental_local_results(condition)[0]

        def update():
            # Keras routes its update through `maybe_merge_call`, which
            # asks for a replica context unless the strategy says it needs
            # no merge call; in cross-replica context the update is already
            # where `merge_call` would take it, so say so while tracing.
            with _no_merge_call(strategy):
                optimizer.apply(summed, variables)
            return tf.constant(True)

        return tf.cond(due, update, lambda: tf.constant(False))

    return context.merge_call(merge_fn, args=(summed, condition))


class _no_merge_call:
    def __init__(self, strategy):
        self.extended = strategy.extended

    def __enter__(self):
        self.shadowed = "_use_merge_call" in vars(self.extended)
        self.previous = vars(self.extended).get("_use_merge_call")
        self.extended._use_merge_call = lambda: False

    def __exit__(self, *exc):
        if self.shadowed:
            self.extended._use_merge_call = self.previous
        else:
            del self.extended._use_merge_call
        return False


def assign_in_sync(variables, values):
    """Assigns `values` to `variables` from a train step, under any strategy.

    In a replica context with several replicas the assignment goes through
    `merge_call`, where every mirrored copy receives its own replica's
    value; use it for state that the step computes identically on every
    replica from synchronised weights and gathered tensors (a momentum
    encoder, a queue of keys). Elsewhere it is a plain assignment.

    Args:
        variables: list of Keras or TensorFlow variables.
        values: list of tensors, one per variable.

    Example:

    ```python
    assign_in_sync([self.queue, self.pointer], [new_queue, new_pointer])
    ```
    """
    context = tf.distribute.get_replica_context()
    if context is None or num_replicas() == 1:
        for variable, value in zip(variables, values):
            variable.assign(value)
        return

    def merge(strategy, *pairs):
        for variable, value in pairs:
            strategy.extended.update(
                variable, lambda v, x: v.assign(x), args=(value,)
            )

    tf_variables = [getattr(v, "value", v) for v in variables]
    context.merge_call(merge, args=tuple(zip(tf_variables, values)))
