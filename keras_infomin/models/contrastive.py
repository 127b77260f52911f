"""`ContrastiveModel`: multi-view contrastive learning through `model.fit`."""

import itertools

from keras import ops

from keras_infomin.losses.objective import Objective
from keras_infomin.models import base
from keras_infomin.models.trainer import Terms
from keras_infomin.models.trainer import Trainer
from keras_infomin.models.trainer import objective_attribute
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_int


@register
class ContrastiveModel(Trainer):
    """Maximises an MI bound between views of the same examples.

    Each view `v_k` goes through an encoder `f_k` (shared, or one per view)
    and an optional projection head `h_k`; a critic scores every pair of
    examples across two views and the bound (InfoNCE by default) is
    maximised. With two views, a shared encoder, a projection head and the
    cosine critic this is SimCLR; with one encoder per view on colour
    channels (`views.ChannelSplit`) it is CMC. More views are paired
    CMC-style: `multiview="core"` contrasts view 0 with every other view,
    `"full"` every pair.

    The bound is read by a `losses.Objective` (`model.objective`), the one
    the Keras losses use. Negatives are the other examples of the global
    batch: under `tf.distribute` the embeddings are gathered from all
    replicas (with gradients) and the loss is scaled so that the summed
    gradients equal those of one replica on the whole batch.
    `compile(loss=losses.NWJ())` trains another bound with the same
    critic; compiled `metrics` read the first view pair's score rows
    (`"accuracy"` is the contrastive top-1 accuracy).

    Batches: with a `view_layer` (random augmentation applied inside the
    step, e.g. `views.Views(views.InfoMinAugment(32))`), `images` or
    `(images, labels)`; without one, the views themselves: `(views,)`,
    `(views, labels)` or a dataset of `(view_1, view_2)` pairs. Labels are
    ignored by the loss (probe callbacks may use them).

    Logs: `loss`, `mi` (the bound in nats, averaged over view pairs) and
    `mi_cap` (`log` of the candidates per row, InfoNCE's ceiling), means
    over the steps; a batch without negatives (a last batch of one
    example) trains nothing and is left out of them.

    Speed on CPU: Keras leaves XLA off for `jit_compile="auto"` on CPU;
    `compile(..., jit_compile=True)` turns it on. Whether it pays depends
    on the CPU (faster on some, slower on others): measure with
    `benchmarks/simclr_step.py`, whose README lists figures per CPU.
    `mixed_bfloat16` pays on CPUs with native bfloat16 (`avx512_bf16`,
    AMX) and on accelerators.

    `call(x)` returns the representation: the (first) encoder's output, or
    the concatenation over views when each view has its own encoder. That
    is what `export` writes and what linear probes read.

    Args:
        encoder: a layer/model, or a list with one per view.
        projector: optional head (layer, or list per view), e.g.
            `ProjectionHead((512,), 128)`.
        critic: a `keras_infomin.critics` layer or name; default
            `InnerProduct(cosine=True, temperature=temperature)`.
        temperature: the default critic's temperature (0.1 if `None`);
            give your own critic its own temperature instead.
        bound: a bound name from `keras_infomin.bounds` (`"mine"` too).
        bound_kwargs: extra bound arguments, e.g. `{"tau": 5.0}`.
        num_views: number of views (>= 2).
        view_layer: optional layer turning an image batch into views.
        symmetric: also score each pair in the other direction (y -> x).
        multiview: `"core"` or `"full"` pairing for more than two views.
        target: train `|I_est - target|` instead (matched-bound training).
        representation: `"first"` or `"concat"` (default: `"first"` for a
            shared encoder, `"concat"` for per-view encoders).

    Example:

    ```python
    model = ContrastiveModel(
        encoder=keras_infomin.encoders.ResNetCIFAR(18),
        projector=ProjectionHead((512,), 128),
        view_layer=keras_infomin.views.Views(
            keras_infomin.views.SimCLRAugment(32)
        ),
    )
    model.compile(optimizer=keras_infomin.optimizers.LARS(0.3))
    model.fit(images, epochs=100, batch_size=512)
    features = model.predict(test_images)
    ```
    """

    def __init__(
        self,
        encoder,
        projector=None,
        critic=None,
        bound="infonce",
        bound_kwargs=None,
        num_views=2,
        view_layer=None,
        symmetric=True,
        multiview="core",
        target=None,
        representation=None,
        temperature=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_int("num_views", num_views, 2)
        if multiview not in ("core", "full"):
            raise ValueError(
                f"`multiview` must be 'core' or 'full'; received {multiview!r}."
            )
        self.num_views = num_views
        self.shared_encoder = not isinstance(encoder, (list, tuple))
        self.encoders = base.as_list(encoder, num_views, "encoder")
        self.shared_projector = not isinstance(projector, (list, tuple))
        self.projectors = base.as_list(projector, num_views, "projector")
        self.objective = Objective(
            bound,
            bound_kwargs,
            critic=base.default_critic(critic, temperature, 0.1),
            symmetric=symmetric,
            target=target,
        )
        self.view_layer = view_layer
        self.multiview = multiview
        if representation is None:
            representation = "first" if self.shared_encoder else "concat"
        if representation not in ("first", "concat"):
            raise ValueError(
                "`representation` must be 'first' or 'concat'; received "
                f"{representation!r}."
            )
        self.representation = representation
        self.track_logs("loss", "mi", "mi_cap")

    @property
    def encoder(self):
        """The first view's encoder (the only one when shared)."""
        return self.encoders[0]

    symmetric = objective_attribute("symmetric")

    # ----------------------------------------------------------------- build
    def _inference_views(self, inputs):
        if self.view_layer is not None:
            return tuple(self.view_layer(inputs, training=False))
        if isinstance(inputs, (tuple, list)):
            return tuple(inputs)
        return (inputs,)

    def build(self, input_shape):
        if base.is_shape(input_shape):
            spec = base.symbolic(input_shape)
        else:
            spec = tuple(base.symbolic(s) for s in input_shape)
        views = self._inference_views(spec)
        if len(views) == 1:
            views = views * self.num_views
        embeddings = [self.embed(v, k) for k, v in enumerate(views)]
        if not self.critic.built:
            self.critic.build(
                tuple(embeddings[0].shape), tuple(embeddings[1].shape)
            )
        self.built = True
        self.build_optimizers()

    def input_shape_of(self, data):
        return base.call_input_shape(data, self.view_layer, self.num_views)

    # --------------------------------------------------------------- forward
    def encode(self, view, k=0, training=False):
        return self.encoders[k](view, training=training)

    def embed(self, view, k=0, training=False):
        """Encoder then projector of view `k`: what the critic compares."""
        h = self.encode(view, k, training=training)
        if self.projectors[k] is not None:
            h = self.projectors[k](h, training=training)
        return h

    def call(self, inputs, training=False):
        views = self._inference_views(inputs)
        if self.representation == "first":
            return self.encode(views[0], 0, training=training)
        return ops.concatenate(
            [self.encode(v, k, training=training) for k, v in enumerate(views)],
            axis=-1,
        )

    # ------------------------------------------------------------------ loss
    def view_pairs(self):
        if self.multiview == "core" or self.num_views == 2:
            return [(0, k) for k in range(1, self.num_views)]
        return list(itertools.combinations(range(self.num_views), 2))

    def pair_bound(self, za, zb):
        """The bound between two views' embeddings, global negatives."""
        return self.objective.estimate_pair(za, zb).value

    def contrastive_terms(self, embeddings, training=False):
        """`(loss, mi)` averaged over the view pairs."""
        terms = self._objective_terms(embeddings, training)
        return terms.losses["model"], terms.logs["mi"]

    def _objective_terms(
        self, embeddings, training, player="model", objective=None
    ):
        """The `Terms` of one set of embeddings, read by `objective`.

        `objective` defaults to `self.objective`; a trainer with several
        adversaries (`InfoMinModel(adversaries=...)`) passes each one's.
        """
        objective = self.objective if objective is None else objective
        metrics = self._compile_metrics is not None
        estimates = [
            objective.estimate_pair(
                embeddings[a],
                embeddings[b],
                training=training,
                with_scores=metrics and i == 0,
            )
            for i, (a, b) in enumerate(self.view_pairs())
        ]
        first = estimates[0]
        mi = ops.mean(ops.stack([e.value for e in estimates]))
        loss = ops.mean(ops.stack([objective.loss(e) for e in estimates]))
        return Terms(
            losses={player: loss},
            logs={"mi": mi, "mi_cap": ops.log(first.candidates)},
            weight=first.weight,
            labels=first.labels,
            predictions=first.scores,
        )

    def compute_terms(self, data, training):
        views, _ = base.split_batch(
            data, self.view_layer, self.num_views, training=True
        )
        base.check_views(views, self.num_views)
        embeddings = [
            self.embed(v, k, training=training) for k, v in enumerate(views)
        ]
        return self._objective_terms(embeddings, training)

    # ---------------------------------------------------------------- config
    def get_config(self):
        return self.config_of(
            encoder=self.encoders[0] if self.shared_encoder else self.encoders,
            projector=self.projectors[0]
            if self.shared_projector
            else self.projectors,
            critic=self.critic,
            num_views=self.num_views,
            view_layer=self.view_layer,
            symmetric=self.symmetric,
            multiview=self.multiview,
            representation=self.representation,
        )
