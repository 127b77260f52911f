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

from keras_infomin.models.trainer import Player
from keras_infomin.models.trainer import Terms
from keras_infomin.models.trainer import Trainer
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_int


@register
class AdversarialInvertibleEncoder(Trainer):
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
    Each call of `train_step` (one batch) is one step of one player: one
    forward pass in training mode serves both players' losses, and only
    the player whose turn it is computes its gradients and updates (the
    two players of the package's `Trainer`, each with a schedule). The
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
    number of encoder updates so far. Compiled `metrics` read the labels
    and the classifier's logits. Each player's loss includes the
    regularisation losses of its own layers.

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
        self.num_classes = check_int("num_classes", num_classes, 2)
        self.classifier_steps = check_int(
            "classifier_steps", classifier_steps, 1
        )
        self.warmup_steps = check_int("warmup_steps", warmup_steps, 0)
        self.classifier = keras.layers.Dense(num_classes, name="classifier")
        self.schedule_step = keras.Variable(
            0,
            dtype="int64",
            trainable=False,
            aggregation="only_first_replica",
            name="schedule_step",
        )
        self.track_logs("classifier_loss", "classifier_accuracy", "uniform_kl")

    OPTIMIZERS = {
        "encoder_optimizer": lambda: keras.optimizers.Adam(1e-5),
        "classifier_optimizer": lambda: keras.optimizers.Adam(1e-3),
    }
    OPTIMIZER_ALIAS = False

    @property
    def encoders(self):
        """`[encoder]`, the vocabulary of the other trainers."""
        return [self.encoder]

    @property
    def encoder_optimizer(self):
        """The encoder's optimizer (`model.optimizer`)."""
        return getattr(self, "optimizer", None)

    def players(self):
        """The encoder and the classifier, taking turns (`is_encoder_turn`)."""

        def encoder_due():
            return self.is_encoder_turn(
                ops.convert_to_tensor(self.schedule_step)
            )

        return [
            Player(
                "encoder",
                self.encoder_optimizer,
                [self.encoder],
                due=encoder_due,
                log="uniform_kl",
            ),
            Player(
                "classifier",
                getattr(self, "classifier_optimizer", None),
                [self.classifier],
                due=lambda: ops.logical_not(encoder_due()),
                log="classifier_loss",
            ),
        ]

    def metric_specs(self):
        return (
            keras.KerasTensor((None,), "int32"),
            keras.KerasTensor((None, self.num_classes), "float32"),
        )

    # ----------------------------------------------------------------- build
    def build(self, input_shape):
        features = self.encoder(keras.KerasTensor(tuple(input_shape)))
        width = math.prod(features.shape[1:])
        if not self.classifier.built:
            self.classifier.build((None, width))
        self.built = True
        self.build_optimizers()

    # --------------------------------------------------------------- forward
    def call(self, inputs, training=False):
        return self.encoder(inputs, training=training)

    def _logits(self, features, training=False):
        flat = ops.reshape(features, (ops.shape(features)[0], -1))
        return self.classifier(flat, training=training)

    def classify(self, inputs, training=False):
        """The classifier's logits `c(g(x))`, shape `[batch, num_classes]`."""
        return self._logits(self(inputs, training=training), training)

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

    def _terms(self, logits, labels):
        """Returns `(L_c, L_g, accuracy)` for a batch of logits."""
        log_probs = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)
        cross_entropy = -ops.mean(
            ops.take_along_axis(log_probs, ops.expand_dims(labels, -1), -1)
        )
        uniform_kl = -ops.mean(log_probs) - math.log(self.num_classes)
        predicted = ops.cast(ops.argmax(logits, axis=-1), "int32")
        accuracy = ops.mean(ops.cast(ops.equal(predicted, labels), "float32"))
        return cross_entropy, uniform_kl, accuracy

    def compute_terms(self, data, training):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        labels = self._labels(y)
        logits = self._logits(self.encoder(x, training=training), training)
        cross_entropy, uniform_kl, accuracy = self._terms(logits, labels)
        return Terms(
            losses={"classifier": cross_entropy, "encoder": uniform_kl},
            logs={"classifier_accuracy": accuracy},
            labels=labels,
            predictions=logits,
        )

    def end_step(self, terms):
        self.schedule_step.assign_add(1)

    def status_logs(self):
        return {
            "encoder_steps": ops.cast(
                self.encoder_optimizer.iterations, "float32"
            )
        }

    def classifier_step(self, x, labels):
        """One classifier update on `(x, labels)`; the encoder is frozen.

        Args:
            x: a batch of inputs.
            labels: int class indices `[batch]`.

        Returns:
            `(L_c, L_g, accuracy)` before the update.
        """
        return self._step_of("classifier", x, labels)

    def encoder_step(self, x, labels):
        """One encoder update towards uniform predictions; classifier fixed.

        The labels only enter the reported accuracy and cross-entropy.

        Returns:
            `(L_c, L_g, accuracy)` before the update.
        """
        return self._step_of("encoder", x, labels)

    def _step_of(self, name, x, labels):
        self.ensure_built((x, labels))
        terms = self.step_players((x, labels), [name])
        return (
            terms.losses["classifier"],
            terms.losses["encoder"],
            terms.logs["classifier_accuracy"],
        )

    def is_encoder_turn(self, step):
        """Whether schedule step `step` (0-based) is an encoder step."""
        after = step - self.warmup_steps
        rounds = self.classifier_steps + 1
        return ops.logical_and(
            after >= 0, ops.equal(after % rounds, self.classifier_steps)
        )

    # ---------------------------------------------------------------- config
    def get_config(self):
        return self.config_of(
            encoder=self.encoder,
            num_classes=self.num_classes,
            classifier_steps=self.classifier_steps,
            warmup_steps=self.warmup_steps,
        )
