"""An invertible encoder trained against a linear classifier (Tschannen E2).

Tschannen et al. (2020, Sec. 3.2) show that maximal mutual information says
little about a representation's quality: an invertible encoder `g` keeps all
the information of its input (`I(x; g(x))` is maximal), yet it can be
trained so that a linear classifier on `g(x)` does worse than one on the raw
pixels. `AdversarialInvertibleEncoder` is that two-player game.
"""

import math

import keras
from keras import ops

from keras_infomin import distribute
from keras_infomin.distribute import scale_loss as scale_for_replicas
from keras_infomin.utils import register

_RESERVED_COMPILE_ARGS = (
    "optimizer",
    "loss",
    "loss_weights",
    "metrics",
    "weighted_metrics",
)


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"`{name}` must be an int >= {minimum}; received {name}={value!r}."
        )
    return value


def _dense(grads, variables):
    """Gradients with `None` (unconnected variables) replaced by zeros."""
    return [
        ops.zeros_like(v) if g is None else g for g, v in zip(grads, variables)
    ]


@register
class AdversarialInvertibleEncoder(keras.Model):
    """An encoder that hides the labels from a linear classifier.

    Two players share each batch `(x, y)` of labelled data:

    - the classifier `c(h) = W h + b` (a `Dense(num_classes)` layer on the
      flattened encoder output `h = g(x)`) minimises the cross-entropy

          L_c = -mean_i log softmax(c(g(x_i)))[y_i]

      with the encoder held fixed;
    - the encoder `g` (invertible in the paper: an affine `RealNVP`)
      pushes the classifier's predictions towards the uniform distribution
      `u` over the `K = num_classes` classes, minimising

          L_g = mean_i KL(u || softmax(c(g(x_i))))
              = -mean_i (1/K) sum_k log softmax(c(g(x_i)))[k] - log K

      with the classifier held fixed (labels are not used by this player).

    The schedule follows Tschannen et al. (2020, E2): `warmup_steps`
    classifier steps first, then rounds of `classifier_steps` classifier
    steps followed by one encoder step (1000 warm-up steps, then 10 : 1).
    Each call of `train_step` (one batch) is one step of one player; the
    position in the schedule is the non-trainable variable `schedule_step`,
    saved with the model, so that a reloaded model resumes the schedule.

    The players have their own optimizers (paper: Adam 1e-3 for the
    classifier, Adam 1e-5 for the encoder), given to `compile`; each only
    ever updates its own player's variables. Both are built over their
    variables as soon as the model is built and compiled (inside the
    model's distribution strategy scope), and both are saved by
    `model.save` and restored by `keras.saving.load_model`.

    `call(x)` returns the representation `g(x)` (what linear probes read);
    `classify(x)` returns the classifier's logits.

    Logs: `classifier_loss` (`L_c`), `classifier_accuracy` and
    `uniform_kl` (`L_g`, 0 when the predictions are uniform), averaged over
    the epoch (over the steps of both players), and `encoder_steps`, the
    number of encoder updates so far.

    Args:
        encoder: a Keras layer or model `x -> h` (e.g.
            `keras_infomin.encoders.RealNVP(coupling="affine")`); nothing
            here requires invertibility, but that is the point of the
            experiment.
        num_classes: number of classes `K` (>= 2).
        classifier_steps: classifier steps per encoder step after the
            warm-up (>= 1).
        warmup_steps: classifier steps before the first encoder step
            (>= 0).
        **kwargs: base `keras.Model` arguments (`name`, ...).

    Example:

    ```python
    flow = keras_infomin.encoders.RealNVP(
        num_couplings=30, hidden_units=(512, 512), coupling="affine"
    )
    model = AdversarialInvertibleEncoder(flow, num_classes=10)
    model.compile(
        encoder_optimizer=keras.optimizers.Adam(1e-5),
        classifier_optimizer=keras.optimizers.Adam(1e-3),
    )
    model.fit(x_top_half, labels, batch_size=128, epochs=..., shuffle=True)
    features = model.predict(x_test)   # g(x): probe these
    ```
    """

    def __init__(
        self,
        encoder,
        num_classes,
        classifier_steps=10,
        warmup_steps=1000,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(encoder, keras.layers.Layer):
            raise TypeError(
                "`encoder` must be a Keras layer or model; received "
                f"{type(encoder).__name__}."
            )
        self.encoder = encoder
        self.num_classes = _check_int("num_classes", num_classes, 2)
        self.classifier_steps = _check_int(
            "classifier_steps", classifier_steps, 1
        )
        self.warmup_steps = _check_int("warmup_steps", warmup_steps, 0)
        self.classifier = keras.layers.Dense(num_classes, name="classifier")
        self.schedule_step = keras.Variable(
            0,
            dtype="int64",
            trainable=False,
            aggregation="only_first_replica",
            name="schedule_step",
        )
        self.encoder_optimizer = None
        self.classifier_optimizer = None
        self._compile_kwargs = {}
        self.classifier_loss_tracker = keras.metrics.Mean(
            name="classifier_loss"
        )
        self.accuracy_tracker = keras.metrics.Mean(name="classifier_accuracy")
        self.uniform_kl_tracker = keras.metrics.Mean(name="uniform_kl")

    # ----------------------------------------------------------------- build
    def build(self, input_shape):
        features = self.encoder(keras.KerasTensor(tuple(input_shape)))
        width = math.prod(features.shape[1:])
        if not self.classifier.built:
            self.classifier.build((None, width))
        self.built = True
        self._build_optimizers()

    def _build_optimizers(self):
        import tensorflow as tf

        if self.encoder_optimizer is None or not self.built:
            return
        if tf.inside_function():
            # A symbolic build (e.g. `fit`'s first look at the data) runs in
            # a scratch graph; `make_train_function` builds them eagerly.
            return
        distribute.build_optimizers(
            self,
            (self.encoder_optimizer, self.encoder),
            (self.classifier_optimizer, self.classifier),
        )

    # --------------------------------------------------------------- forward
    def call(self, inputs, training=False):
        return self.encoder(inputs, training=training)

    def _logits(self, features, training=False):
        flat = ops.reshape(features, (ops.shape(features)[0], -1))
        return self.classifier(flat, training=training)

    def classify(self, inputs, training=False):
        """The classifier's logits `c(g(x))`, shape `[batch, num_classes]`."""
        return self._logits(self(inputs, training=training), training)

    # -------------------------------------------------------------- compile
    def compile(
        self, encoder_optimizer=None, classifier_optimizer=None, **kwargs
    ):
        """Configures the two players' optimizers.

        Args:
            encoder_optimizer: optimizer of the encoder (name, config or
                instance); default `Adam(1e-5)`, the paper's.
            classifier_optimizer: optimizer of the classifier; default
                `Adam(1e-3)`, the paper's.
            **kwargs: further `keras.Model.compile` arguments
                (`run_eagerly`, `steps_per_execution`, `jit_compile`);
                `optimizer`, `loss` and `metrics` are not accepted: the
                losses are fixed by the game.
        """
        reserved = sorted(k for k in kwargs if k in _RESERVED_COMPILE_ARGS)
        if reserved:
            raise ValueError(
                "AdversarialInvertibleEncoder.compile takes "
                "`encoder_optimizer` and `classifier_optimizer`; its losses "
                f"are fixed by the game. Received unsupported arguments "
                f"{reserved}."
            )
        if encoder_optimizer is None:
            encoder_optimizer = keras.optimizers.Adam(1e-5)
        if classifier_optimizer is None:
            classifier_optimizer = keras.optimizers.Adam(1e-3)
        encoder_optimizer = keras.optimizers.get(encoder_optimizer)
        classifier_optimizer = keras.optimizers.get(classifier_optimizer)
        if encoder_optimizer is classifier_optimizer:
            raise ValueError(
                "`encoder_optimizer` and `classifier_optimizer` must be two "
                "distinct optimizer instances (each keeps its own state); "
                "received the same object twice."
            )
        self.encoder_optimizer = encoder_optimizer
        self.classifier_optimizer = classifier_optimizer
        self._compile_kwargs = dict(kwargs)
        super().compile(optimizer=None, **kwargs)
        self._build_optimizers()

    def get_compile_config(self):
        if self.encoder_optimizer is None:
            return {}
        return {
            "encoder_optimizer": keras.saving.serialize_keras_object(
                self.encoder_optimizer
            ),
            "classifier_optimizer": keras.saving.serialize_keras_object(
                self.classifier_optimizer
            ),
            **self._compile_kwargs,
        }

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("encoder_optimizer", "classifier_optimizer"):
            config[key] = keras.optimizers.deserialize(config[key])
        self.compile(**config)

    # ------------------------------------------------------------- training
    def _labels(self, y):
        if y is None:
            raise ValueError(
                "AdversarialInvertibleEncoder trains on labelled batches "
                "(x, y); received no labels."
            )
        if len(y.shape) == 2 and y.shape[-1] == self.num_classes > 1:
            y = ops.argmax(y, axis=-1)
        elif len(y.shape) == 2 and y.shape[-1] == 1:
            y = ops.squeeze(y, -1)
        elif len(y.shape) != 1:
            raise ValueError(
                "Labels must be class indices [batch] or [batch, 1], or "
                f"one-hot rows [batch, {self.num_classes}]; received shape "
                f"{tuple(y.shape)}."
            )
        return ops.cast(y, "int32")

    def _unpack(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if sample_weight is not None:
            raise ValueError(
                "AdversarialInvertibleEncoder takes no `sample_weight`; "
                "received one."
            )
        if not self.built:
            self.build((None,) + tuple(x.shape[1:]))
        return x, self._labels(y)

    def _terms(self, logits, labels):
        """Returns `(L_c, L_g, accuracy)` for a batch of logits."""
        log_probs = ops.log_softmax(logits, axis=-1)
        cross_entropy = -ops.mean(
            ops.take_along_axis(log_probs, ops.expand_dims(labels, -1), -1)
        )
        uniform_kl = -ops.mean(log_probs) - math.log(self.num_classes)
        predicted = ops.cast(ops.argmax(logits, axis=-1), "int32")
        accuracy = ops.mean(ops.cast(ops.equal(predicted, labels), "float32"))
        return cross_entropy, uniform_kl, accuracy

    def _classifier_gradients(self, x, labels):
        import tensorflow as tf

        features = ops.stop_gradient(self.encoder(x, training=False))
        variables = self.classifier.trainable_variables
        with tf.GradientTape() as tape:
            logits = self._logits(features, training=True)
            terms = self._terms(logits, labels)
            scaled = scale_for_replicas(terms[0])
        return terms, _dense(tape.gradient(scaled, variables), variables)

    def _encoder_gradients(self, x, labels):
        import tensorflow as tf

        variables = self.encoder.trainable_variables
        with tf.GradientTape() as tape:
            logits = self._logits(self.encoder(x, training=True))
            terms = self._terms(logits, labels)
            scaled = scale_for_replicas(terms[1])
        return terms, _dense(tape.gradient(scaled, variables), variables)

    def classifier_step(self, x, labels):
        """One classifier update on `(x, labels)`; the encoder is frozen.

        Args:
            x: a batch of inputs.
            labels: int class indices `[batch]`.

        Returns:
            `(L_c, L_g, accuracy)` before the update.
        """
        terms, grads = self._classifier_gradients(x, labels)
        self.classifier_optimizer.apply(
            grads, self.classifier.trainable_variables
        )
        return terms

    def encoder_step(self, x, labels):
        """One encoder update towards uniform predictions; classifier fixed.

        The labels only enter the reported accuracy and cross-entropy.

        Returns:
            `(L_c, L_g, accuracy)` before the update.
        """
        terms, grads = self._encoder_gradients(x, labels)
        self.encoder_optimizer.apply(grads, self.encoder.trainable_variables)
        return terms

    def is_encoder_turn(self, step):
        """Whether schedule step `step` (0-based) is an encoder step."""
        after = step - self.warmup_steps
        rounds = self.classifier_steps + 1
        return ops.logical_and(
            after >= 0, ops.equal(after % rounds, self.classifier_steps)
        )

    def make_train_function(self, force=False):
        self._build_optimizers()
        return super().make_train_function(force=force)

    def train_step(self, data):
        if self.encoder_optimizer is None:
            raise ValueError(
                "Call `compile(encoder_optimizer=..., "
                "classifier_optimizer=...)` before `fit`."
            )
        import tensorflow as tf

        x, labels = self._unpack(data)
        turn = self.is_encoder_turn(ops.convert_to_tensor(self.schedule_step))
        if (
            not tf.distribute.has_strategy()
            or tf.__internal__.distribute.strategy_supports_no_merge_call()
        ):
            terms = ops.cond(
                turn,
                lambda: self.encoder_step(x, labels),
                lambda: self.classifier_step(x, labels),
            )
        else:
            terms = self._replicated_step(turn, x, labels)
        self.schedule_step.assign_add(1)
        return self._report(*terms)

    def _replicated_step(self, turn, x, labels):
        """One player's step under a strategy that synchronises replicas.

        An optimizer's `apply` synchronises replicas (`merge_call`), which
        `tf.distribute` does not allow inside a condition in replica
        context. The active player's gradients are computed in a condition
        (no synchronisation there; the other player gets zeros, never
        applied); then, as in Keras's `LossScaleOptimizer`, the update's
        condition is taken in cross-replica context and the chosen branch
        applies the gradients on every replica.
        """
        import tensorflow as tf

        encoder_vars = self.encoder.trainable_variables
        classifier_vars = self.classifier.trainable_variables

        def encoder_turn():
            terms, grads = self._encoder_gradients(x, labels)
            return terms, grads, [ops.zeros_like(v) for v in classifier_vars]

        def classifier_turn():
            terms, grads = self._classifier_gradients(x, labels)
            return terms, [ops.zeros_like(v) for v in encoder_vars], grads

        terms, encoder_grads, classifier_grads = ops.cond(
            turn, encoder_turn, classifier_turn
        )

        def apply_encoder(grads):
            self.encoder_optimizer.apply(grads, encoder_vars)

        def apply_classifier(grads):
            self.classifier_optimizer.apply(grads, classifier_vars)

        def cross_replica(strategy, turn, encoder_grads, classifier_grads):
            # Every replica reads the same schedule step: take the first.
            turn = strategy.experimental_local_results(turn)[0]
            ops.cond(
                turn,
                lambda: strategy.extended.call_for_each_replica(
                    apply_encoder, args=(encoder_grads,)
                ),
                lambda: strategy.extended.call_for_each_replica(
                    apply_classifier, args=(classifier_grads,)
                ),
            )

        tf.distribute.get_replica_context().merge_call(
            cross_replica, args=(turn, encoder_grads, classifier_grads)
        )
        return terms

    def test_step(self, data):
        x, labels = self._unpack(data)
        logits = self.classify(x, training=False)
        return self._report(*self._terms(logits, labels))

    def _report(self, cross_entropy, uniform_kl, accuracy):
        self.classifier_loss_tracker.update_state(cross_entropy)
        self.uniform_kl_tracker.update_state(uniform_kl)
        self.accuracy_tracker.update_state(accuracy)
        logs = {m.name: m.result() for m in self.metrics}
        if self.encoder_optimizer is not None:
            logs["encoder_steps"] = ops.cast(
                self.encoder_optimizer.iterations, "float32"
            )
        return distribute.reducible_logs(logs)

    @property
    def metrics(self):
        return [
            self.classifier_loss_tracker,
            self.accuracy_tracker,
            self.uniform_kl_tracker,
        ]

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=keras.saving.serialize_keras_object(self.encoder),
            num_classes=self.num_classes,
            classifier_steps=self.classifier_steps,
            warmup_steps=self.warmup_steps,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(
            config["encoder"]
        )
        return cls(**config)
