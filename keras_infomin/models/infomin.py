"""`InfoMinModel`: learning views adversarially (Tian et al. 2020, Sec. 4)."""

import keras
from keras import ops

from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin import distribute
from keras_infomin.models import base
from keras_infomin.models.contrastive import ContrastiveModel
from keras_infomin.models.trainer import Player
from keras_infomin.models.trainer import unique_variables
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_int
from keras_infomin.utils.validation import check_positive


class Adversary(keras.layers.Layer):
    """One adversary of the view game: an encoder (and head) per view, and
    its critic's objective. `InfoMinModel(adversaries=P)` holds `P - 1` of
    these besides its own `encoders`, `projectors` and `objective`."""

    def __init__(self, encoders, projectors, objective, **kwargs):
        super().__init__(**kwargs)
        self.encoders = list(encoders)
        self.projectors = list(projectors)
        self.objective = objective
        self.built = True  # no weights of its own; its layers build alone

    def layers_list(self):
        layers = self.encoders + [p for p in self.projectors if p]
        return layers + [self.objective]


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

        I + w * (CE(c1(g(X)_1), y) + CE(c2(g(X)_2:3), y))

    (`w = classification_weight`, `I` the generator's estimate of the MI
    between the views) and the classifiers minimise their cross-entropies,
    so `g` removes the information the views share except what the labels
    need. Labels `-1` mark unlabelled examples (masked out of the
    cross-entropies).

    A game the generator cannot win by fooling one adversary. Played
    naively, `g` learns to hide the information from the encoders it
    faces (their features stop matching while the views still share as
    much as before) instead of removing it; fresh encoders trained on the
    final views then find it again. Measure the game with
    `evaluation.FreshCriticMI(..., views="generator")`, and use these
    options, each of which changes only the variables it names:

    - `generator_every=k`: the encoders take `k` steps per generator step
      (the generator's variables move on one step in `k`);
    - `warmup_steps=W`: the generator stays still for the first `W`
      steps, while the encoders learn the raw views;
    - `adversaries=P`: `P` independent adversaries (copies of the
      encoders, heads and critic, freshly initialised from their
      configs), each maximising its own bound on the same views with its
      own optimizer (a copy of the encoder optimizer); `g` minimises the
      mean of their bounds;
    - `reset_every=R` (with `P >= 2`): every `R` steps one of the
      adversaries after the first, in turn, starts afresh: its initial
      weights and a zeroed optimizer state (the others are untouched), so
      that `g` also faces a recently trained one, as a fresh critic
      would be;
    - `generator_bound="club"` or `"l1out"`: `g` minimises a variational
      upper bound of the MI between the first adversary's (normalised)
      embeddings, `bounds.club` / `bounds.l1out` on the log-likelihoods of
      a conditional `q(z2 | z1)` (`conditional`, default
      `critics.GaussianConditional((64,))`) fitted by maximum likelihood
      by the adversary player, instead of the adversaries' lower bound;
    - the flow (`RealNVP(coupling="additive")` is volume-preserving) and
      the two learning rates;
    - the generator's moving average (its optimizer's `use_ema=True` and
      `ema_momentum`; the default `generator_optimizer` is Adam 1e-3 with
      an average at momentum 0.95): when `fit` ends, before the
      callbacks' `on_train_end`, `g` receives the average of its iterates
      instead of its last one. At equal step sizes the two players
      circle each other (each generator step hides what the current
      encoders read, each encoder step finds it again), and a snapshot
      of `g` lands anywhere on that circle; the average lies nearer its
      centre. During the game `g` is the live iterate (the monitor reads
      it); only the end writes the average. Any player after the first
      may average this way (`Trainer.fit` writes each one's); the first
      (`encoder_optimizer`, `model.optimizer`) may not, since Keras
      would write its average over every player's weights.

    What measured best, on the colour toy of
    `data.shared_nuisance_images` (16x16, a strong brightness field shared
    by all channels, a weak class signal; 2,048 training images, 192
    steps at batch 64, `ConvNet((16, 32))` encoders, a 2-coupling
    `RealNVP` with 16 units; the fresh critic `evaluation.fresh_critic_mi`
    with 200 steps at batch 64 on 1,024 held-out images; AMD EPYC Zen 4,
    avx512f/avx512_bf16, 2 shared cores; `examples/infomin_game.py` plays
    the levers at a larger budget). The raw R | GB split reads 3.71-3.80
    nats (cap 4.16) over seeds 0-5. What matters most is the generator:
    standardised views (`FlowViewGenerator(standardize=True)`: shrinking
    or shifting a view no longer hides anything) from a volume-preserving
    flow whose couplings alternate (`RealNVP(coupling="additive",
    permutation="reverse")`: one coupling in two rewrites channel 0 from
    the other two, which removes the field from view 1). With it and this
    class's default options (one adversary, both players every step,
    no warm-up, the lower bound for `g`), Adam 1e-3 for both players and
    the last iterate of `g` (the measurements of this paragraph predate
    the average, below), fresh encoders read 0.34, 1.19, 1.93, 2.15,
    0.66, 1.92 nats with seeds 0-5: below the raw split in every seed,
    though spread. The naive game
    (raw flow outputs, random permutations) stays at the raw split
    (2.73, 2.48, 2.42 against the raw 2.69 in the setting of this
    default's test: smaller encoders in the game and the critic). Against
    the default, at the same budget: `generator_every=3`, or the
    generator at Adam 3e-4, leaves `g` where it started (3.74-3.79);
    `adversaries=3, reset_every=32` reads 0.57, 3.06, 0.47, 0.31 (seeds
    0-3) at twice the cost; `generator_bound="club"` -0.58, 3.77, 2.87,
    3.64. With twice the steps (384), the generator at Adam 3e-4 measured
    best and steadiest, 0.18, 0.35, 0.97, 0.55, 1.03, 0.22 (seeds 0-5; at
    1e-3: 1.11, 2.33, 2.32, 2.13 for seeds 0-3): for a longer game, slow
    the generator down. Without standardised views (2.94, 2.35, 2.68
    against 2.69 for seeds 0-2, small fresh encoders) the game fails; with
    random permutations (0.78, 2.97, 0.96) or affine couplings (0.44,
    0.52, 2.91) one seed in three stays at the raw split. The generator's
    average (momentum 0.95) read 0.29, 1.18, 1.54, 0.86, 0.71, 1.89
    (seeds 0-5, 1.08 +- 0.58) against 0.31, 1.20, 1.95, 1.99, 0.65,
    1.91 (1.34 +- 0.73) for the last iterate of the same games, lower or
    within 0.06 in every seed. The options therefore default to
    `generator_every=1`, `warmup_steps=0`, `adversaries=1`,
    `reset_every=None`, `generator_bound=None`, and `compile`'s
    optimizers to Adam at 1e-3, the generator's with its average at
    momentum 0.95.

    On CIFAR-10 from YDbDr (JPEG copy, 3,000 training and 1,024 held-out
    images, batch 128, games of 6 epochs = 138 steps, `ConvNet(16, 32, 64)`
    encoders, stage-2 fresh encoders for 10 epochs, seeds 0 and 1; the same
    CPU; the standardiser's former momentum, 0.99, which left the frozen
    views partly standardised) the fresh encoders read Y | DbDr at 0.27,
    0.29 nats, and `g` at its start (standardised Y | DbDr, the same
    information) already at 0.39, 0.40: they read a channel's scale, not
    only its information (`examples/learned_views.py` therefore standardises
    every view before stage 2 by default, and Y | DbDr and `g`'s start then
    read 0.58 alike). From there the default game raised the reading to
    0.77, 1.55; the generator at Adam 3e-4 for 12 epochs to 0.63, 0.85; an
    affine flow to 0.86, 0.94; `generator_every=3` with a one-epoch warm-up
    to 0.36, 0.59; `adversaries=3, reset_every=23` (one reset an epoch) kept
    it at 0.40, 0.44, the least of the games; the naive game read 0.28, 0.28
    against its start, the raw split. No lever lowered the fresh reading
    below `g`'s start from YDbDr in both seeds (`generator_every=3` in
    one), whose channels share little to begin with.
    The pool's cost (about twice a step) and its spread on the toy (one seed
    in four near the raw split) keep it an option, not the default.
    Semi-supervised (10% labels, weight 5): the probe of the default game's
    views 0.410, 0.382, with the generator at 3e-4 for 12 epochs 0.433,
    0.418, against 0.372, 0.364 for the best raw split (L | ab).

    The generator's average on CIFAR-10 (the same setting with the
    standardiser at momentum 0.9 and the standardised stage 2; seeds 0
    and 1, where Y | DbDr reads 0.58, 0.59 and L | ab probes 0.407,
    0.419): from YDbDr the default game's last iterate read 1.11, 1.68
    and its average 0.62, 0.82; the pool with the average 0.60, 0.72; the
    generator at Adam 3e-4 for 12 epochs with the average 0.68, 0.64;
    `generator_every=3` after a one-epoch warm-up with the average 0.63,
    0.66: closer to the raw split, still not below it. From RGB (seeds 0-2,
    R | GB 4.20, 4.16, 4.16) the average changed little at 6 epochs
    (2.23, 2.39, 1.33 against 2.27, 1.44, 2.43 for the last iterate);
    the generator at 3e-4 for 12 epochs with the average read 0.64,
    1.34, 0.75. Semi-supervised at `classification_weight=20` (`g`'s
    loss is then mostly the cross-entropies: 82.4 of 82.9 at the end of
    seed 0's game) the probe read 0.438, 0.430 with the average, 0.425,
    0.423 without, 0.422, 0.410 at weight 5 with it (over 5 seeds with
    the average: 0.417 +- 0.025, two seeds at 0.39; L | ab 0.415 +-
    0.012). Also tried there and not kept: the
    generator on SGD with momentum (its first steps mixed luminance into
    the chroma views, 4.6 nats), and a flow reading standardised
    channels (Y spreads 0.24, Db and Dr 0.06 and 0.05 in the normalised
    YDbDr): 0.64, 1.65 without the average, 0.74, 1.18 with it. The
    README's `learned_views.py` table has the 5-seed figures.

    The players and their optimizers: `compile(encoder_optimizer=...,
    generator_optimizer=...)`. The first adversary (`encoders`,
    `projectors`, the critic and the conditional) trains with
    `encoder_optimizer` (`model.optimizer`, whose step count sets the
    schedules), every further adversary with its copy of it
    (`adversary_optimizers`); the generator player holds `g` and the
    classifiers. The players are `models.Player`s of the one
    `Trainer.train_step`: each step computes one forward pass and every
    player's gradients from it, each with the regularisers of its own
    layers. With `generator_every=1`,
    `warmup_steps=0` and one adversary, simultaneous updates equal training
    through a gradient-reversal layer between `g` and the encoders: with
    SGD at one learning rate, a `ContrastiveModel` whose `view_layer` is
    `views.Compose([g, models.GradientReversal()])` takes the same
    unsupervised steps. Both optimizers' states are saved with the model.

    Under `MirroredStrategy` / `MultiWorkerMirroredStrategy` the step equals
    one replica on the global batch: the bounds take their negatives from
    every replica (the upper bounds read the gathered embeddings), the
    classifiers' cross-entropies and accuracies average over the global
    batch's labelled rows (replicas may hold different numbers of labels),
    the scheduled generator update goes through
    `keras_infomin.distribute.apply_if` and resets through
    `distribute.assign_in_sync`. Standardised views
    (`FlowViewGenerator(standardize=True)`) use the global batch's
    statistics on every replica (a synchronised batch normalisation), not
    each replica's own.

    Batches: `images` or `(images, labels)`, RGB in [0, 1]; `augment`
    (optional) is applied to the images before `g` (random crops, flips).

    Logs: `loss` (the first adversary's loss, `-I_NCE`, minus the
    conditional's log-likelihood with an upper bound), `mi` (the
    adversaries' I_NCE in nats, averaged), `mi_cap`, `generator_loss`, `log_det`
    (mean log|det| of `g` per image); with several adversaries `mi_max`
    (the best informed one); with an upper bound `mi_upper` (the bound
    `g` minimises) and `conditional_ll` (the conditional's mean
    log-likelihood); in semi-supervised mode `ce_1`, `ce_2`, `accuracy_1`,
    `accuracy_2` on the labelled examples.

    After the game, the paper retrains fresh encoders on the frozen views
    (`frozen_generator`, `train_on_learned_views`, or the whole protocol
    with `evaluation.run_protocol`) and probes them.

    Args:
        generator: a `FlowViewGenerator` (or any layer with `transform`,
            `views_of` and a `split`).
        encoders: one encoder per view (a list).
        projectors: optional head, or one per view.
        critic: critic layer; default cosine `InnerProduct` at
            `temperature`.
        classifiers: optional list of per-view classifiers (logits).
        classification_weight: weight of the cross-entropies in `g`'s loss.
        generator_every: encoder steps per generator step (k >= 1).
        warmup_steps: steps before the generator's first update (>= 0).
        adversaries: number of adversaries (>= 1).
        reset_every: steps between two resets of an adversary, or `None`.
        generator_bound: `None` (`g` minimises the adversaries' bound),
            `"club"` or `"l1out"` (an upper bound, see above).
        conditional: the conditional of the upper bound (a critic scoring
            log-densities, e.g. `critics.GaussianConditional`).
        augment: optional layer applied to the images first.
        symmetric: score view pairs in both directions.
        temperature: the default critic's temperature (0.1 if `None`).
        bound, bound_kwargs, target: the bound the encoders maximise (the
            generator minimises its value); `compile(loss=...)` sets them.

    Example:

    ```python
    model = InfoMinModel(
        generator=keras_infomin.views.FlowViewGenerator(
            RealNVP(
                4,
                (32,),
                coupling="additive",
                permutation="reverse",
                init_std=1e-3,
            ),
            standardize=True,
        ),
        encoders=[ConvNet(output_dim=64), ConvNet(output_dim=64)],
    )
    model.compile(
        encoder_optimizer=keras.optimizers.Adam(1e-3),
        # g ends the game at the average of its iterates (the default)
        generator_optimizer=keras.optimizers.Adam(
            1e-3, use_ema=True, ema_momentum=0.95
        ),
    )
    monitor = keras_infomin.evaluation.FreshCriticMI(
        held_out_images, views="generator", every=2
    )
    model.fit(images, batch_size=128, epochs=10, callbacks=[monitor])
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
        warmup_steps=0,
        adversaries=1,
        reset_every=None,
        generator_bound=None,
        conditional=None,
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
        self.generator_every = check_int("generator_every", generator_every, 1)
        self.warmup_steps = check_int("warmup_steps", warmup_steps, 0)
        self.adversaries = check_int("adversaries", adversaries, 1)
        self.reset_every = check_int(
            "reset_every", reset_every, 1, allow_none=True
        )
        if self.reset_every is not None and self.adversaries < 2:
            raise ValueError(
                "`reset_every` starts the adversaries after the first "
                "afresh in turn: it needs adversaries >= 2; received "
                f"adversaries={self.adversaries}."
            )
        self.pool = [
            Adversary(
                [base.clone_layer(e) for e in self.encoders],
                [base.clone_layer(p) for p in self.projectors],
                base.clone_layer(self.objective),
                name=f"adversary_{m}",
            )
            for m in range(1, self.adversaries)
        ]
        if generator_bound is not None:
            bounds.get_upper(generator_bound)  # a clear error if unknown
            if not isinstance(generator_bound, str):
                raise ValueError(
                    "`generator_bound` must be a name of "
                    f"bounds.UPPER_BOUNDS; received {generator_bound!r}."
                )
            if conditional is None:
                conditional = critics.GaussianConditional((64,))
            conditional = critics.get(conditional)
        elif conditional is not None:
            raise ValueError(
                "`conditional` is the variational q(z2 | z1) of an upper "
                "bound; pass generator_bound='club' or 'l1out' with it."
            )
        self.generator_bound = generator_bound
        self.conditional = conditional
        self.generator_optimizer = None
        self.track_logs("generator_loss", "log_det")
        if self.adversaries > 1:
            self.track_logs("mi_max")
        if generator_bound is not None:
            self.track_logs("mi_upper", "conditional_ll")
        for k in range(num_views if classifiers is not None else 0):
            self.track_logs(f"ce_{k + 1}", f"accuracy_{k + 1}")
        self._snapshots = []
        self.adversary_optimizers = []

    OPTIMIZERS = {
        "encoder_optimizer": "adam",
        "generator_optimizer": lambda: keras.optimizers.Adam(
            1e-3, use_ema=True, ema_momentum=0.95
        ),
    }

    def compile(self, *args, **kwargs):
        """`Trainer.compile`; further adversaries get copies of the
        encoder optimizer (`adversary_optimizers`)."""
        super().compile(*args, **kwargs)
        with self.distribute_strategy.scope():
            self.adversary_optimizers = [
                keras.optimizers.deserialize(
                    keras.optimizers.serialize(self.optimizer)
                )
                for _ in self.pool
            ]
        if self.built:
            self.build_optimizers()

    def players(self):
        """The adversaries (every step) and the generator (on schedule).

        `compile(encoder_optimizer=..., generator_optimizer=...)` gives
        their optimizers; `encoder_optimizer` is `model.optimizer` (alias
        `optimizer`).
        """
        due = None
        if self.generator_every > 1 or self.warmup_steps > 0:
            due = self.generator_due
        # Before `compile` has copied their optimizers, the further
        # adversaries are nobody's player yet.
        optimizers = self.adversary_optimizers
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
        ] + [
            Player(f"adversary_{m + 1}", optimizer, adversary.layers_list())
            for m, (adversary, optimizer) in enumerate(
                zip(self.pool, optimizers)
            )
        ]

    def generator_due(self):
        """Whether the generator updates at this step (a boolean tensor).

        Step `s` (0-based, counted by the encoder optimizer) updates `g`
        when `s >= warmup_steps` and `(s - warmup_steps + 1)` is a multiple
        of `generator_every`.
        """
        step = ops.convert_to_tensor(self.optimizer.iterations)
        after = step - self.warmup_steps
        return ops.logical_and(
            after >= 0, ops.equal((after + 1) % self.generator_every, 0)
        )

    # ----------------------------------------------------------------- build
    def _inference_views(self, inputs):
        if isinstance(inputs, (tuple, list)):
            inputs = inputs[0]
        return self.generator(inputs)

    def members(self):
        """The adversaries: `(encoders, projectors, objective)` triples."""
        first = (self.encoders, self.projectors, self.objective)
        return [first] + [
            (a.encoders, a.projectors, a.objective) for a in self.pool
        ]

    def build(self, input_shape):
        if not base.is_shape(input_shape):
            input_shape = input_shape[0]
        spec = base.symbolic(input_shape)
        views = self.generator(spec)
        if self.classifiers is not None:
            for classifier, view in zip(self.classifiers, views):
                classifier(view)
        for encoders, projectors, objective in self.members()[1:]:
            embeddings = [
                self._embed_with(encoders, projectors, v, k)
                for k, v in enumerate(views)
            ]
            if not objective.critic.built:
                objective.critic.build(
                    tuple(embeddings[0].shape), tuple(embeddings[1].shape)
                )
        if self.conditional is not None and not self.conditional.built:
            z = self._embed_with(self.encoders, self.projectors, views[0], 0)
            self.conditional.build(tuple(z.shape), tuple(z.shape))
        super().build(input_shape)
        self._build_snapshots()

    def _build_snapshots(self):
        """Copies of the initial weights of the adversaries that reset."""
        if self.reset_every is None or self._snapshots:
            return
        for m, (encoders, projectors, objective) in enumerate(self.members()):
            if m == 0:
                continue
            layers = list(encoders) + [p for p in projectors if p]
            layers.append(objective.critic)
            pairs, seen = [], set()
            for layer in layers:
                for variable in layer.weights:
                    if id(variable) in seen:
                        continue
                    seen.add(id(variable))
                    copy = self.add_weight(
                        shape=variable.shape,
                        dtype=variable.dtype,
                        initializer="zeros",
                        trainable=False,
                        name=f"initial_{m}_{len(pairs)}",
                    )
                    copy.assign(variable)
                    pairs.append((variable, copy))
            self._snapshots.append(pairs)

    def input_shape_of(self, data):
        images, _ = self._images_and_labels(data)
        return base.unbatched_shape(images)

    def _encoder_layers(self):
        layers = list(self.encoders) + [p for p in self.projectors if p]
        layers.append(self.objective)
        if self.conditional is not None:
            layers.append(self.conditional)
        return layers

    def _generator_layers(self):
        return [self.generator] + list(self.classifiers or [])

    def encoder_variables(self):
        """Trainable variables of the MI-maximising players (every one)."""
        players = self.players()
        return [
            v
            for player in players[:1] + players[2:]
            for v in self.player_variables(player)
        ]

    def generator_variables(self):
        """Trainable variables of the MI-minimising player."""
        return self.player_variables(self.players()[1])

    def adversary_variables(self, index):
        """Trainable variables of adversary `index` (0: `self.encoders`)."""
        encoders, projectors, objective = self.members()[index]
        layers = list(encoders) + [p for p in projectors if p] + [objective]
        return unique_variables(layers)

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

    @staticmethod
    def _embed_with(encoders, projectors, view, k, training=False):
        h = encoders[k](view, training=training)
        if projectors[k] is not None:
            h = projectors[k](h, training=training)
        return h

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

    def _upper_terms(self, embeddings):
        """`(upper bound, conditional log-likelihood)` over the view pairs.

        The bound reads `q(z_b | z_a)` on the gathered (global) batch, with
        gradients to the embeddings (for `g`); the log-likelihood, which
        the adversary player maximises, reads them without gradients, so
        that only `q` learns from it.
        """
        upper = bounds.get_upper(self.generator_bound)
        values, likelihoods = [], []
        for a, b in self.view_pairs():
            za, zb = (
                _standardised(distribute.all_gather(embeddings[i]))
                for i in (a, b)
            )
            values.append(upper(ops.cast(self.conditional(za, zb), "float32")))
            fitted = self.conditional(
                ops.stop_gradient(za), ops.stop_gradient(zb)
            )
            likelihoods.append(
                bounds.conditional_log_likelihood(ops.cast(fitted, "float32"))
            )
        return ops.mean(ops.stack(values)), ops.mean(ops.stack(likelihoods))

    def compute_terms(self, data, training):
        images, labels = self._images_and_labels(data)
        if self.augment is not None:
            images = self.augment(images, training=True)
        y, log_det = self.generator.transform(images, return_log_det=True)
        views = self.generator.views_of(y, training=training)
        first, values, losses = None, [], []
        for encoders, projectors, objective in self.members():
            embeddings = [
                self._embed_with(encoders, projectors, v, k, training)
                for k, v in enumerate(views)
            ]
            terms = self._objective_terms(
                embeddings, training, "encoders", objective
            )
            if first is None:
                first, first_embeddings = terms, embeddings
            values.append(terms.logs["mi"])
            losses.append(terms.losses["encoders"])
        mi = ops.mean(ops.stack(values))
        encoder_loss = losses[0]
        logs = dict(first.logs, mi=mi, log_det=ops.mean(log_det))
        if self.adversaries > 1:
            logs["mi_max"] = ops.max(ops.stack(values))
        # The generator minimises the bound itself (not the target mode).
        generator_loss = mi
        if self.conditional is not None:
            upper, likelihood = self._upper_terms(first_embeddings)
            logs.update(mi_upper=upper, conditional_ll=likelihood)
            encoder_loss = encoder_loss - likelihood
            generator_loss = upper
        if self.classifiers is not None:
            pairs = self._classification_terms(views, labels)
            for k, (ce, accuracy) in enumerate(pairs):
                logs[f"ce_{k + 1}"] = ce
                logs[f"accuracy_{k + 1}"] = accuracy
            ce_total = sum(ce for ce, _ in pairs)
            generator_loss = generator_loss + self.classification_weight * (
                ce_total
            )
        player_losses = {"encoders": encoder_loss, "generator": generator_loss}
        for m, loss in enumerate(losses[1:]):
            player_losses[f"adversary_{m + 1}"] = loss
        return first._replace(losses=player_losses, logs=logs)

    def end_step(self, terms):
        """Starts one adversary afresh every `reset_every` steps.

        After step `s` (counted from 1 by `encoder_optimizer`), when `R`
        divides `s`, adversary `1 + (s / R - 1) mod (P - 1)` returns to
        its initial weights and its optimizer's state (step count,
        moments) to zero; its learning rate is kept.
        """
        if self.reset_every is None:
            return
        done = ops.convert_to_tensor(self.optimizer.iterations)
        due = ops.equal(done % self.reset_every, 0)
        turn = (done // self.reset_every - 1) % (self.adversaries - 1)
        for m, pairs in enumerate(self._snapshots):
            hit = ops.logical_and(due, ops.equal(turn, m))
            optimizer = self.adversary_optimizers[m]
            # Under mixed precision, the wrapped optimizer's state (the
            # loss scale carries on).
            optimizer = getattr(optimizer, "inner_optimizer", optimizer)
            state = [
                v
                for v in optimizer.variables
                if not v.path.endswith("learning_rate")
            ]
            distribute.assign_in_sync(
                [v for v, _ in pairs] + state,
                [ops.where(hit, s, v) for v, s in pairs]
                + [ops.where(hit, ops.zeros_like(v), v) for v in state],
            )

    # ---------------------------------------------------------------- config
    def get_config(self):
        return self.config_of(
            generator=self.generator,
            encoders=list(self.encoders),
            projectors=self.projectors[0]
            if self.shared_projector
            else self.projectors,
            critic=self.critic,
            classifiers=self.classifiers,
            classification_weight=self.classification_weight,
            generator_every=self.generator_every,
            warmup_steps=self.warmup_steps,
            adversaries=self.adversaries,
            reset_every=self.reset_every,
            generator_bound=self.generator_bound,
            conditional=self.conditional,
            augment=self.augment,
            symmetric=self.symmetric,
        )


def _standardised(z):
    """Unit-norm rows scaled by sqrt(d): coordinates of about unit scale."""
    dim = ops.cast(ops.shape(z)[-1], "float32")
    return ops.normalize(ops.cast(z, "float32"), axis=-1) * ops.sqrt(dim)


def frozen_generator(generator):
    """A frozen copy of a trained generator, to make fixed views.

    Returns a new layer with the same config and weights and
    `trainable=False`, usable as a `ContrastiveModel` view layer.
    """
    clone = base.clone_layer(generator)
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
