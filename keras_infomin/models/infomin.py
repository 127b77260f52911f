"""`InfoMinModel`: learning views adversarially (Tian et al. 2020, Sec. 4)."""

import keras
from keras import ops

from keras_infomin import distribute
from keras_infomin.models import base
from keras_infomin.models.contrastive import ContrastiveModel
from keras_infomin.models.trainer import Player
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_positive


@register
class InfoMinModel(ContrastiveModel):
    """Plays InfoMin's view-learning game through `model.fit`.

        min_g  max_{f1, f2}  I_NCE(f1(g(X)_1); f2(g(X)_2:3))

    The view generator `g` (a `views.FlowViewGenerator`: an invertible
    pixel-wise flow on the colour channels) produces two views; one encoder
    per view maximises the InfoNCE bound between them (as in
    `ContrastiveModel`), while `g` minimises it: it learns views that share
    as little information as it can squeeze out of them. Because `g` is
    invertible, no information about the image is lost, only moved between
    the views.

    Semi-supervised mode: with `classifiers` (one per view, mapping a view
    to class logits) and labelled batches, `g` minimises

        I_NCE + w * (CE(c1(g(X)_1), y) + CE(c2(g(X)_2:3), y))

    (`w = classification_weight`) and the classifiers minimise their
    cross-entropies, so `g` removes the
    information the views share except what the labels need. Labels `-1`
    mark unlabelled examples (masked out of the cross-entropies).

    Two players, two optimizers: `compile(encoder_optimizer=...,
    generator_optimizer=...)`. The encoder player holds the encoders,
    projectors and critic; the generator player holds `g` and the
    classifiers. Each step computes one forward pass and both players'
    gradients from it; the encoders are updated every step and the
    generator every `generator_every`-th step (1: simultaneous updates,
    which equals training through a gradient-reversal layer between `g` and
    the encoders: with SGD at one learning rate, a `ContrastiveModel` whose
    `view_layer` is `views.Compose([g, models.GradientReversal()])` takes
    the same unsupervised steps). Both optimizers' states are saved with
    the model.

    Under `MirroredStrategy` / `MultiWorkerMirroredStrategy` the step equals
    one replica on the global batch: I_NCE takes its negatives from every
    replica, the classifiers' cross-entropies and accuracies average over
    the global batch's labelled rows (replicas may hold different numbers
    of labels), and the every-k generator update goes through
    `keras_infomin.distribute.apply_if` (a conditional update outside the
    replicas' control flow).

    Batches: `images` or `(images, labels)`, RGB in [0, 1]; `augment`
    (optional) is applied to the images before `g` (random crops, flips).

    Logs: `loss` (the encoders' loss, `-I_NCE`), `mi` (I_NCE in nats),
    `mi_cap`, `generator_loss`, `log_det` (mean log|det| of `g` per image)
    and, in semi-supervised mode, `ce_1`, `ce_2`, `accuracy_1`,
    `accuracy_2` on the labelled examples.

    After the game, the paper retrains fresh encoders on the frozen views
    (`frozen_generator`, `train_on_learned_views`) and probes them.

    Args:
        generator: a `FlowViewGenerator` (or any layer with `transform`,
            `views_of` and a `split`).
        encoders: one encoder per view (a list).
        projectors: optional head, or one per view.
        critic: critic layer; default cosine `InnerProduct` at 0.1.
        classifiers: optional list of per-view classifiers (logits).
        classification_weight: weight of the cross-entropies in `g`'s loss.
        generator_every: update `g` every k-th step (k >= 1).
        augment: optional layer applied to the images first.
        symmetric: score view pairs in both directions.

    Example:

    ```python
    model = InfoMinModel(
        generator=keras_infomin.views.FlowViewGenerator(
            RealNVP(4, (32, 32), coupling="affine", init_std=1e-3)
        ),
        encoders=[ConvNet(output_dim=64), ConvNet(output_dim=64)],
    )
    model.compile(
        encoder_optimizer=keras.optimizers.Adam(1e-3),
        generator_optimizer=keras.optimizers.Adam(1e-4),
    )
    model.fit(images, batch_size=128, epochs=10)
    ```
    """

    def __init__(
        self,
        generator,
        encoders,
        projectors=None,
        critic=None,
        classifiers=None,
        classification_weight=1.0,
        generator_every=1,
        augment=None,
        symmetric=True,
        temperature=None,
        bound="infonce",
        bound_kwargs=None,
        target=None,
        **kwargs,
    ):
        num_views = len(generator.split)
        if not isinstance(encoders, (list, tuple)):
            raise ValueError(
                "`encoders` must be a list with one encoder per view (the "
                f"views have different channels); received {encoders!r}."
            )
        super().__init__(
            encoder=list(encoders),
            projector=projectors,
            critic=critic,
            bound=bound,
            bound_kwargs=bound_kwargs,
            target=target,
            num_views=num_views,
            view_layer=None,
            symmetric=symmetric,
            multiview="core",
            representation="concat",
            temperature=temperature,
            **kwargs,
        )
        self.generator = generator
        self.augment = augment
        if classifiers is not None:
            classifiers = base.as_list(classifiers, num_views, "classifiers")
            if any(c is None for c in classifiers):
                raise ValueError("`classifiers` must not contain None.")
        self.classifiers = classifiers
        self.classification_weight = check_positive(
            "classification_weight", classification_weight, allow_zero=True
        )
        if not isinstance(generator_every, int) or generator_every < 1:
            raise ValueError(
                "`generator_every` must be a positive int; received "
                f"{generator_every!r}."
            )
        self.generator_every = generator_every
        self.generator_optimizer = None
        self.track_logs("generator_loss", "log_det")
        for k in range(num_views if classifiers is not None else 0):
            self.track_logs(f"ce_{k + 1}", f"accuracy_{k + 1}")

    OPTIMIZERS = {"encoder_optimizer": "adam", "generator_optimizer": "adam"}

    def players(self):
        """The encoders (every step) and the generator (every k-th step).

        `compile(encoder_optimizer=..., generator_optimizer=...)` gives
        their optimizers; `encoder_optimizer` is `model.optimizer` (alias
        `optimizer`).
        """
        due = None
        if self.generator_every > 1:

            def due():
                step = self.optimizer.iterations + 1
                return ops.equal(step % self.generator_every, 0)

        return [
            Player(
                "encoders",
                getattr(self, "optimizer", None),
                self._encoder_layers(),
                log="loss",
            ),
            Player(
                "generator",
                self.generator_optimizer,
                self._generator_layers(),
                due=due,
                log="generator_loss",
            ),
        ]

    # ----------------------------------------------------------------- build
    def _inference_views(self, inputs):
        if isinstance(inputs, (tuple, list)):
            inputs = inputs[0]
        return self.generator(inputs)

    def build(self, input_shape):
        if not base.is_shape(input_shape):
            input_shape = input_shape[0]
        spec = base.symbolic(input_shape)
        views = self.generator(spec)
        if self.classifiers is not None:
            for classifier, view in zip(self.classifiers, views):
                classifier(view)
        super().build(input_shape)

    def input_shape_of(self, data):
        images, _ = self._images_and_labels(data)
        return base.unbatched_shape(images)

    def _encoder_layers(self):
        layers = list(self.encoders) + [p for p in self.projectors if p]
        return layers + [self.objective]

    def _generator_layers(self):
        return [self.generator] + list(self.classifiers or [])

    def encoder_variables(self):
        """Trainable variables of the MI-maximising player."""
        return self.player_variables(self.players()[0])

    def generator_variables(self):
        """Trainable variables of the MI-minimising player."""
        return self.player_variables(self.players()[1])

    # ------------------------------------------------------------------ step
    def _images_and_labels(self, data):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(data)
        if isinstance(x, (tuple, list)):
            raise ValueError(
                "InfoMinModel makes its own views: batches must hold images "
                "[B, H, W, 3] (and labels), not a tuple of views."
            )
        if self.classifiers is not None and y is None:
            raise ValueError(
                "The semi-supervised InfoMinModel needs labels with its "
                "images: (images, labels), with -1 for unlabelled examples."
            )
        return x, y

    def _classification_terms(self, views, labels):
        """Masked cross-entropies and accuracies of the per-view classifiers."""
        labels = ops.cast(ops.reshape(labels, (-1,)), "int32")
        labelled = ops.cast(labels >= 0, "float32")
        local_count = ops.sum(labelled)
        count = ops.maximum(local_count, 1.0)
        safe = ops.where(labels >= 0, labels, 0)
        terms = []
        for classifier, view in zip(self.classifiers, views):
            logits = ops.cast(classifier(view, training=True), "float32")
            ce = keras.losses.sparse_categorical_crossentropy(
                safe, logits, from_logits=True
            )
            correct = ops.cast(
                ops.equal(ops.argmax(logits, axis=-1), safe), "float32"
            )
            # Means over this replica's labelled rows, combined into means
            # over the global batch's labelled rows (replicas may hold
            # different numbers of labels, or none).
            terms.append(
                (
                    distribute.cross_replica_mean(
                        ops.sum(ce * labelled) / count, local_count
                    ),
                    distribute.cross_replica_mean(
                        ops.sum(correct * labelled) / count, local_count
                    ),
                )
            )
        return terms

    def compute_terms(self, data, training):
        images, labels = self._images_and_labels(data)
        if self.augment is not None:
            images = self.augment(images, training=True)
        y, log_det = self.generator.transform(images, return_log_det=True)
        views = self.generator.views_of(y)
        embeddings = [
            self.embed(v, k, training=training) for k, v in enumerate(views)
        ]
        terms = self._objective_terms(embeddings, training, "encoders")
        # The generator minimises the bound itself (not the target mode).
        generator_loss = terms.logs["mi"]
        logs = dict(terms.logs, log_det=ops.mean(log_det))
        if self.classifiers is not None:
            pairs = self._classification_terms(views, labels)
            for k, (ce, accuracy) in enumerate(pairs):
                logs[f"ce_{k + 1}"] = ce
                logs[f"accuracy_{k + 1}"] = accuracy
            ce_total = sum(ce for ce, _ in pairs)
            generator_loss = generator_loss + self.classification_weight * (
                ce_total
            )
        return terms._replace(
            losses={**terms.losses, "generator": generator_loss}, logs=logs
        )

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = keras.Model.get_config(self)
        config.update(
            generator=base.serialize(self.generator),
            encoders=base.serialize(list(self.encoders)),
            projectors=base.serialize(
                self.projectors[0] if self.shared_projector else self.projectors
            ),
            critic=base.serialize(self.critic),
            classifiers=base.serialize(self.classifiers),
            classification_weight=self.classification_weight,
            generator_every=self.generator_every,
            augment=base.serialize(self.augment),
            symmetric=self.symmetric,
            bound=self.bound,
            bound_kwargs=dict(self.bound_kwargs),
            target=self.target,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in (
            "generator",
            "encoders",
            "projectors",
            "critic",
            "classifiers",
            "augment",
        ):
            config[key] = base.deserialize(config.get(key))
        return cls(**config)


def frozen_generator(generator):
    """A frozen copy of a trained generator, to make fixed views.

    Returns a new layer with the same config and weights and
    `trainable=False`, usable as a `ContrastiveModel` view layer.
    """
    clone = keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(generator)
    )
    if not generator.built:
        raise ValueError("The generator must be trained (built) first.")
    if not clone.built:
        clone.build((None, None, None, 3))
    clone.set_weights(generator.get_weights())
    clone.trainable = False
    return clone


def train_on_learned_views(
    generator,
    encoders,
    data,
    epochs,
    batch_size=None,
    optimizer="adam",
    projectors=None,
    critic=None,
    augment=None,
    verbose=0,
):
    """Stage 2 of the protocol: fresh encoders on the frozen learned views.

    The generator is copied and frozen (`frozen_generator`); a
    `ContrastiveModel` with the given (freshly initialised) `encoders`
    learns on its views with the usual InfoNCE loss.

    Args:
        generator: the trained view generator.
        encoders: new encoders, one per view.
        data: images (array or dataset), as for `fit`.
        epochs, batch_size, verbose: passed to `fit`.
        optimizer: the encoders' optimizer.
        projectors, critic: as in `ContrastiveModel`.
        augment: optional augmentation applied before the frozen views.

    Returns:
        The trained `ContrastiveModel`; `model.evaluate(images)` reports
        the I_NCE between the learned views, `model.predict` the
        concatenated representation for probing.
    """
    from keras_infomin.views.compose import Compose

    frozen = frozen_generator(generator)
    view_layer = frozen if augment is None else Compose([augment, frozen])
    model = ContrastiveModel(
        encoder=list(encoders),
        projector=projectors,
        critic=critic,
        num_views=len(frozen.split),
        view_layer=view_layer,
    )
    model.compile(optimizer=optimizer)
    model.fit(data, epochs=epochs, batch_size=batch_size, verbose=verbose)
    return model


def run_protocol(
    infomin_model,
    data,
    make_encoders,
    probe_train,
    probe_test,
    game_epochs,
    view_epochs,
    batch_size=None,
    encoder_optimizer="adam",
    probe_method="sklearn",
    verbose=0,
):
    """InfoMin's three stages: learn g, retrain encoders on g's views, probe.

    Args:
        infomin_model: a compiled `InfoMinModel`.
        data: training images, or `(images, labels)` for semi-supervised
            games (labels -1 where unknown).
        make_encoders: callable returning a list of fresh encoders.
        probe_train, probe_test: `(images, labels)` for the linear probe.
        game_epochs, view_epochs: epochs of stages 1 and 2 (stage 2
            trains on `probe_train`'s images).
        batch_size: batch size of stages 1 and 2.
        encoder_optimizer: stage 2 optimizer (name or instance).
        probe_method: `"sklearn"` or `"keras"` (see `evaluation`).
        verbose: Keras verbosity.

    Returns:
        A dict with `mi_views` (I_NCE between the learned views, measured
        by the stage-2 encoders on `probe_test`'s images), `probe_accuracy`
        and the stage-1 `history`.
    """
    from keras_infomin.evaluation import linear_probe

    images, labels = data if isinstance(data, tuple) else (data, None)
    history = infomin_model.fit(
        images,
        labels,
        epochs=game_epochs,
        batch_size=batch_size,
        verbose=verbose,
    )
    model = train_on_learned_views(
        infomin_model.generator,
        make_encoders(),
        probe_train[0],
        epochs=view_epochs,
        batch_size=batch_size,
        optimizer=encoder_optimizer,
        verbose=verbose,
    )
    logs = model.evaluate(
        probe_test[0], batch_size=batch_size, verbose=0, return_dict=True
    )
    accuracy = linear_probe(model, probe_train, probe_test, method=probe_method)
    return {
        "mi_views": float(logs["mi"]),
        "probe_accuracy": float(accuracy),
        "history": history.history,
    }
