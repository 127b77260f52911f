"""`MomentumContrast`: MoCo v2 with a queue of negatives and a JigSaw branch."""

import keras
from keras import ops

from keras_infomin import distribute
from keras_infomin.losses.objective import Objective
from keras_infomin.models import base
from keras_infomin.models.trainer import Terms
from keras_infomin.models.trainer import Trainer
from keras_infomin.models.trainer import objective_attribute
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.utils.validation import check_int
from keras_infomin.utils.validation import check_positive


@register
class MomentumContrast(Trainer):
    """MoCo v2: a momentum key encoder and a queue of negative keys.

    For each batch the query encoder embeds one view, `q = h(f(v_1))`, and
    a slowly moving copy embeds the other, `k = h'(f'(v_2))` (no gradient).
    The InfoNCE bound classifies `k` among `1 + K` candidates, the queue's
    `K` earlier keys being the negatives:

        scores = [q . k, q . queue_1, ..., q . queue_K] / temperature

    After each optimiser step the key weights follow the query weights,
    `w' <- m w' + (1 - m) w`, and the batch's keys (gathered from all
    replicas) replace the oldest entries of the queue. The queue and its
    pointer are non-trainable weights: they are saved with the model and
    restored by `BackupAndRestore`.

    InfoMin's recipe adds a JigSaw branch: `jigsaw` turns the image batch
    into shuffled tiles (`views.JigSaw` composed with its crop), the query
    encoder embeds every tile, `jigsaw_head` fuses them into one vector,
    which is contrasted with the same key and queue at weight
    `jigsaw_weight` (0.5). It needs a `view_layer` (images in the batch).

    The bound is read by a `losses.Objective` (`model.objective`) from the
    scores `[N, 1 + K]` with the positive in column 0; `compile(loss=...)`
    trains another bound on them, compiled `metrics` read them (labels 0:
    `"accuracy"` is MoCo's top-1 accuracy of the key among the queue).

    Logs: `loss`, `mi` (InfoNCE of the query/key pairs, nats), `mi_cap`
    (`log(1 + K)`) and, with the JigSaw branch, `mi_jigsaw`.

    Args:
        encoder: the query encoder (layer or model); `call` returns its
            output.
        projector: optional head (MoCo v2: MLP 2048-128).
        queue_size: number of negatives `K` (>= global batch size).
        momentum: key-encoder momentum `m` in [0, 1].
        temperature: positive softmax temperature (0.2 in MoCo v2, 0.15 in
            InfoMin).
        symmetric: also use `v_2` as query and `v_1` as key (both losses).
        view_layer: optional layer making the two views from images.
        jigsaw, jigsaw_head, jigsaw_weight: the optional JigSaw branch.
        bound, bound_kwargs, target: the bound read from the scores (any
            bound taking a `positive_mask`; see `losses.Objective`).

    Example:

    ```python
    model = MomentumContrast(
        encoder=keras_infomin.encoders.ResNetCIFAR(18),
        projector=ProjectionHead((2048,), 128),
        queue_size=4096,
        view_layer=keras_infomin.views.Views(
            keras_infomin.views.MoCoV2Augment(32)
        ),
    )
    model.compile(optimizer=keras.optimizers.SGD(0.03, momentum=0.9))
    model.fit(images, batch_size=256, epochs=200)
    ```
    """

    def __init__(
        self,
        encoder,
        projector=None,
        queue_size=65536,
        momentum=0.999,
        temperature=0.2,
        symmetric=False,
        view_layer=None,
        jigsaw=None,
        jigsaw_head=None,
        jigsaw_weight=0.5,
        bound="infonce",
        bound_kwargs=None,
        target=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.queue_size = check_int("queue_size", queue_size, 1)
        self.momentum = check_in_range("momentum", momentum, 0.0, 1.0)
        self.objective = Objective(
            bound, bound_kwargs, temperature=temperature, target=target
        )
        self.symmetric = bool(symmetric)
        if (jigsaw is None) != (jigsaw_head is None):
            raise ValueError(
                "The JigSaw branch needs both `jigsaw` (the tile view) and "
                "`jigsaw_head`; received only one of them."
            )
        if jigsaw is not None and view_layer is None:
            raise ValueError(
                "The JigSaw branch cuts tiles from the batch's images: pass "
                "a `view_layer` so that batches carry images, not views."
            )
        self.jigsaw_weight = check_positive(
            "jigsaw_weight", jigsaw_weight, allow_zero=True
        )
        self.encoder = encoder
        self.projector = projector
        self.view_layer = view_layer
        self.jigsaw = jigsaw
        self.jigsaw_head = jigsaw_head
        self.key_encoder = base.clone_layer(encoder, "key_encoder")
        self.key_projector = base.clone_layer(projector, "key_projector")
        self.track_logs("loss", "mi", "mi_cap")
        if jigsaw is not None:
            self.track_logs("mi_jigsaw")

    temperature = objective_attribute("temperature")

    @property
    def encoders(self):
        """`[encoder]`: the query encoder, the one every view goes through."""
        return [self.encoder]

    # ----------------------------------------------------------------- build
    def _query_layers(self):
        return [layer for layer in (self.encoder, self.projector) if layer]

    def _key_layers(self):
        return [
            layer for layer in (self.key_encoder, self.key_projector) if layer
        ]

    def build(self, input_shape):
        import tensorflow as tf

        if not base.is_shape(input_shape):
            input_shape = input_shape[0]
        spec = base.symbolic(input_shape)
        view = spec
        if self.view_layer is not None:
            view = tuple(self.view_layer(spec, training=False))[0]
        query = self.embed(view)
        self.key_embed(view)
        if self.jigsaw is not None:
            tiles = self.jigsaw(spec, training=False)
            self._jigsaw_embedding(tiles)
        self.queue, self.queue_pointer, self.keys_initialized = (
            self.add_weight(
                shape=shape,
                initializer=initializer,
                dtype=dtype,
                trainable=False,
                name=name,
            )
            for shape, initializer, dtype, name in (
                ((self.queue_size, query.shape[-1]), _unit_rows, None, "queue"),
                ((), "zeros", "int32", "queue_pointer"),
                ((), "zeros", "bool", "keys_initialized"),
            )
        )
        for key in _all_key_weights(self._key_layers()):
            key.trainable = False
        if not tf.inside_function():
            self._momentum_update(initial=True)
        self.built = True
        self.build_optimizers()

    def input_shape_of(self, data):
        shape = base.call_input_shape(data, self.view_layer, 2)
        return shape if self.view_layer is not None else shape[0]

    # --------------------------------------------------------------- forward
    def call(self, inputs, training=False):
        if isinstance(inputs, (tuple, list)):
            inputs = inputs[0]
        if self.view_layer is not None:
            inputs = tuple(self.view_layer(inputs, training=False))[0]
        return self.encoder(inputs, training=training)

    def embed(self, view, training=False):
        h = self.encoder(view, training=training)
        if self.projector is not None:
            h = self.projector(h, training=training)
        return h

    def key_embed(self, view, training=False):
        h = self.key_encoder(view, training=training)
        if self.key_projector is not None:
            h = self.key_projector(h, training=training)
        return h

    def _jigsaw_embedding(self, tiles, training=False):
        flat = ops.reshape(tiles, (-1,) + tuple(tiles.shape[2:]))
        features = self.encoder(flat, training=training)
        features = ops.reshape(
            features, (-1, tiles.shape[1], features.shape[-1])
        )
        return self.jigsaw_head(features, training=training)

    # ------------------------------------------------------------------ loss
    def queue_bound(self, query, key, training=False, with_scores=False):
        """The `Estimate` of `query` against its `key` and the queue.

        Scores `[q . k, q . queue_1, ..., q . queue_K] / temperature` on
        unit vectors, the positive in column 0; under a strategy the value
        is the global batch's.
        """
        query = base.l2_normalize(ops.cast(query, "float32"))
        positive = ops.sum(query * key, axis=-1)
        negatives = ops.matmul(query, ops.transpose(self.queue))
        scores = ops.concatenate(
            [ops.expand_dims(positive, 1), negatives], axis=1
        )
        n = ops.shape(scores)[0]
        mask = ops.equal(
            ops.expand_dims(ops.zeros((n,), "int32"), 1),
            ops.expand_dims(ops.arange(self.queue_size + 1, dtype="int32"), 0),
        )
        return self.objective.estimate_scores(
            scores,
            positive_mask=mask,
            training=training,
            across_replicas=True,
            with_scores=with_scores,
        )

    def _keys(self, view, training):
        key = self.key_embed(view, training=training)
        return ops.stop_gradient(base.l2_normalize(ops.cast(key, "float32")))

    def compute_terms(self, data, training):
        views, _ = base.split_batch(data, self.view_layer, 2, training=True)
        base.check_views(views, 2)
        self._check_queue(views[0])
        keys = [self._keys(views[1], training)]
        first = self.queue_bound(
            self.embed(views[0], training),
            keys[0],
            training,
            with_scores=self._compile_metrics is not None,
        )
        estimates = [first]
        if self.symmetric:
            keys.append(self._keys(views[0], training))
            query = self.embed(views[1], training)
            estimates.append(self.queue_bound(query, keys[1], training))
        loss = ops.mean(ops.stack([self.objective.loss(e) for e in estimates]))
        logs = {
            "mi": ops.mean(ops.stack([e.value for e in estimates])),
            "mi_cap": ops.log(first.candidates),
        }
        if self.jigsaw is not None:
            x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
            tiles = self.jigsaw(x, training=True)
            embedding = self._jigsaw_embedding(tiles, training)
            jigsaw = self.queue_bound(embedding, keys[0], training)
            loss = loss + self.jigsaw_weight * self.objective.loss(jigsaw)
            logs["mi_jigsaw"] = jigsaw.value
        return Terms(
            losses={"model": loss},
            logs=logs,
            weight=first.weight,
            labels=first.labels,
            predictions=first.scores,
            state=keys,
        )

    def begin_step(self, data):
        self._momentum_update()

    def end_step(self, terms):
        self._enqueue(terms.state)

    def _check_queue(self, view):
        batch = view.shape[0]
        if batch is not None:
            # A symmetric step enqueues the keys of both views.
            per_step = batch * distribute.num_replicas()
            per_step *= 2 if self.symmetric else 1
            if per_step > self.queue_size:
                if self.symmetric:
                    what = (
                        "twice the global batch (symmetric=True enqueues "
                        "both views' keys)"
                    )
                else:
                    what = "the global batch"
                raise ValueError(
                    f"The queue ({self.queue_size} keys) is smaller than "
                    f"{what}: {per_step} keys per step, so a step could not "
                    "enqueue its keys. Use queue_size >= keys per step "
                    "(MoCo: 65536 for batch 256)."
                )

    def _momentum_update(self, initial=False):
        """`w' <- m w' + (1 - m) w`; the first update copies (m = 0).

        As in MoCo, it runs at the start of a step, before the keys are
        computed, so the very first keys come from an exact copy of the
        query encoder.
        """
        query_vars = [
            w for layer in self._query_layers() for w in layer.trainable_weights
        ]
        key_vars = _matching_key_variables(
            self._query_layers(), self._key_layers()
        )
        if initial:
            for key, query in zip(key_vars, query_vars):
                key.assign(query)
            self.keys_initialized.assign(True)
            return
        m = ops.where(self.keys_initialized, self.momentum, 0.0)
        updates = [
            ops.cast(m, key.dtype) * key
            + ops.cast(1.0 - m, key.dtype) * ops.cast(query, key.dtype)
            for key, query in zip(key_vars, query_vars)
        ]
        distribute.assign_in_sync(
            key_vars + [self.keys_initialized],
            updates + [ops.ones((), "bool")],
        )

    def _enqueue(self, keys):
        """Writes the global batch's keys over the oldest queue entries."""
        import tensorflow as tf

        new_keys = ops.concatenate([distribute.all_gather(k) for k in keys], 0)
        count = ops.shape(new_keys)[0]
        slots = (self.queue_pointer + ops.arange(count, dtype="int32")) % (
            self.queue_size
        )
        queue = tf.tensor_scatter_nd_update(
            self.queue.value, ops.expand_dims(slots, 1), new_keys
        )
        pointer = (self.queue_pointer + count) % self.queue_size
        distribute.assign_in_sync(
            [self.queue, self.queue_pointer], [queue, pointer]
        )

    # ---------------------------------------------------------------- config
    def get_config(self):
        return self.config_of(
            encoder=self.encoder,
            projector=self.projector,
            queue_size=self.queue_size,
            momentum=self.momentum,
            temperature=self.temperature,
            symmetric=self.symmetric,
            view_layer=self.view_layer,
            jigsaw=self.jigsaw,
            jigsaw_head=self.jigsaw_head,
            jigsaw_weight=self.jigsaw_weight,
        )


def _matching_key_variables(query_layers, key_layers):
    """The key copies of the query layers' trainable weights, in order."""
    pairs = []
    for query, key in zip(query_layers, key_layers):
        by_index = {id(w): i for i, w in enumerate(query.weights)}
        for w in query.trainable_weights:
            pairs.append(key.weights[by_index[id(w)]])
    return pairs


def _all_key_weights(key_layers):
    return [w for layer in key_layers for w in layer.weights]


def _unit_rows(shape, dtype=None):
    """Random unit vectors: the queue's initial (uninformative) keys."""
    rows = keras.random.normal(shape, dtype=dtype or "float32", seed=0)
    return ops.normalize(rows, axis=-1)
