"""`ContrastiveModel`: multi-view contrastive learning through `model.fit`."""

import itertools

import keras
from keras import ops

from keras_infomin import bounds
from keras_infomin import critics
from keras_infomin import distribute
from keras_infomin.distribute import scale_loss as scale_for_replicas
from keras_infomin.models import base
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_positive


@register
class ContrastiveModel(keras.Model):
    """Maximises an MI bound between views of the same examples.

    Each view `v_k` goes through an encoder `f_k` (shared, or one per view)
    and an optional projection head `h_k`; a critic scores every pair of
    examples across two views and the bound (InfoNCE by default) is
    maximised. With two views, a shared encoder, a projection head and the
    cosine critic this is SimCLR; with one encoder per view on colour
    channels (`views.ChannelSplit`) it is CMC. More views are paired
    CMC-style: `multiview="core"` contrasts view 0 with every other view,
    `"full"` every pair.

    Negatives are the other examples of the global batch: under
    `tf.distribute` the embeddings are gathered from all replicas (with
    gradients) and the loss is scaled so that the summed gradients equal
    those of one replica on the whole batch.

    Batches: with a `view_layer` (random augmentation applied inside the
    step, e.g. `views.Views(views.InfoMinAugment(32))`), `images` or
    `(images, labels)`; without one, the views themselves: `(views,)`,
    `(views, labels)` or a dataset of `(view_1, view_2)` pairs. Labels are
    ignored by the loss (probe callbacks may use them).

    Logs: `loss`, `mi` (the bound in nats, averaged over view pairs) and
    `mi_cap` (`log` of the candidates per row, InfoNCE's ceiling).

    Speed on CPU: Keras leaves XLA off for `jit_compile="auto"` on CPU;
    pass `compile(..., jit_compile=True)` to get it. Measured on a 2-core
    CPU with ResNet-18 (`benchmarks/simclr_step.py`): +53% images/s in
    float32 and 10x in bfloat16 (without native bfloat16 kernels).

    `call(x)` returns the representation: the (first) encoder's output, or
    the concatenation over views when each view has its own encoder. That
    is what `export` writes and what linear probes read.

    Args:
        encoder: a layer/model, or a list with one per view.
        projector: optional head (layer, or list per view), e.g.
            `ProjectionHead((512,), 128)`.
        critic: a `keras_infomin.critics` layer or name; default
            `InnerProduct(cosine=True, temperature=0.1)`.
        bound: a bound name from `keras_infomin.bounds`.
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
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(num_views, int) or num_views < 2:
            raise ValueError(
                f"`num_views` must be an int >= 2; received {num_views!r}."
            )
        if multiview not in ("core", "full"):
            raise ValueError(
                f"`multiview` must be 'core' or 'full'; received {multiview!r}."
            )
        bounds.get(bound)
        if not isinstance(bound, str):
            raise ValueError(
                "`bound` must be a bound's name (so the model can be saved); "
                f"received {bound!r}."
            )
        if target is not None:
            check_positive("target", target, allow_zero=True)
        self.num_views = num_views
        self.shared_encoder = not isinstance(encoder, (list, tuple))
        self.encoders = base.as_list(encoder, num_views, "encoder")
        self.shared_projector = not isinstance(projector, (list, tuple))
        self.projectors = base.as_list(projector, num_views, "projector")
        self.critic = critics.get(
            critic
            if critic is not None
            else critics.InnerProduct(cosine=True, temperature=0.1)
        )
        self.bound = bound
        self.bound_kwargs = dict(bound_kwargs or {})
        self.view_layer = view_layer
        self.symmetric = bool(symmetric)
        self.multiview = multiview
        self.target = target
        if representation is None:
            representation = "first" if self.shared_encoder else "concat"
        if representation not in ("first", "concat"):
            raise ValueError(
                "`representation` must be 'first' or 'concat'; received "
                f"{representation!r}."
            )
        self.representation = representation
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mi_tracker = keras.metrics.Mean(name="mi")
        self.cap_tracker = keras.metrics.Mean(name="mi_cap")

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

    def _fused(self):
        return (
            self.bound == "infonce"
            and isinstance(self.critic, critics.InnerProduct)
            and not self.bound_kwargs
        )

    def pair_bound(self, za, zb):
        """The bound between two views' embeddings, global negatives.

        Under several replicas the value is the global batch's on every
        replica: the fused InfoNCE averages its local anchors' terms over
        replicas (`base.cross_replica_mean`); any other critic/bound scores
        the local rows against the gathered batch and gathers the rows, so
        that bounds that are not means over anchors (DV, SMILE, MINE,
        interpolated) see the whole `N x N` score matrix.
        """
        if self._fused():
            scale = self.critic.inverse_temperature()
            if self.critic.cosine:
                za, zb = base.l2_normalize(za), base.l2_normalize(zb)
            if self.symmetric and distribute.num_replicas() == 1:
                return bounds.infonce_dot(
                    za * ops.cast(scale, za.dtype), zb, symmetric=True
                )
            value = bounds.infonce_dot(
                za * ops.cast(scale, za.dtype), base.gather_others_first(zb)
            )
            if self.symmetric:
                back = bounds.infonce_dot(
                    zb * ops.cast(scale, zb.dtype),
                    base.gather_others_first(za),
                )
                value = 0.5 * (value + back)
            return base.cross_replica_mean(value, ops.shape(za)[0])
        bound_fn = bounds.get(self.bound)
        if distribute.num_replicas() == 1:
            scores = self.critic(za, zb)
        else:
            scores = distribute.all_gather(
                self.critic(za, distribute.all_gather(zb))
            )
        value = bound_fn(scores, **self.bound_kwargs)
        if self.symmetric:
            reverse = ops.transpose(scores)
            value = 0.5 * (value + bound_fn(reverse, **self.bound_kwargs))
        return value

    def contrastive_terms(self, embeddings):
        """`(loss, mi)` averaged over the view pairs."""
        values = [
            self.pair_bound(embeddings[a], embeddings[b])
            for a, b in self.view_pairs()
        ]
        mi = ops.mean(ops.stack(values))
        if self.target is None:
            loss = -mi
        else:
            losses = [ops.abs(v - self.target) for v in values]
            loss = ops.mean(ops.stack(losses))
        return loss, mi

    def _step(self, data, training):
        if not self.built:
            self.build(
                base.call_input_shape(data, self.view_layer, self.num_views)
            )
        views, _ = base.split_batch(
            data, self.view_layer, self.num_views, training=True
        )
        base.check_views(views, self.num_views)
        embeddings = [
            self.embed(v, k, training=training) for k, v in enumerate(views)
        ]
        loss, mi = self.contrastive_terms(embeddings)
        candidates = base.global_rows(embeddings[0])
        return loss, mi, candidates

    def _logs(self, loss, mi, candidates):
        self.loss_tracker.update_state(loss)
        self.mi_tracker.update_state(mi)
        self.cap_tracker.update_state(ops.log(ops.cast(candidates, "float32")))
        return distribute.reducible_logs(
            {m.name: m.result() for m in self.metrics}
        )

    def train_step(self, data):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            loss, mi, candidates = self._step(data, training=True)
            total = loss
            if self.losses:
                total = total + ops.sum(ops.stack(self.losses))
            scaled = self.optimizer.scale_loss(scale_for_replicas(total))
        variables = self.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply(grads, variables)
        return self._logs(loss, mi, candidates)

    def test_step(self, data):
        loss, mi, candidates = self._step(data, training=False)
        return self._logs(loss, mi, candidates)

    @property
    def metrics(self):
        return [self.loss_tracker, self.mi_tracker, self.cap_tracker]

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=base.serialize(
                self.encoders[0] if self.shared_encoder else self.encoders
            ),
            projector=base.serialize(
                self.projectors[0] if self.shared_projector else self.projectors
            ),
            critic=base.serialize(self.critic),
            bound=self.bound,
            bound_kwargs=self.bound_kwargs,
            num_views=self.num_views,
            view_layer=base.serialize(self.view_layer),
            symmetric=self.symmetric,
            multiview=self.multiview,
            target=self.target,
            representation=self.representation,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "projector", "critic", "view_layer"):
            config[key] = base.deserialize(config.get(key))
        return cls(**config)
