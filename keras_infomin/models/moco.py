"""`MomentumContrast`: MoCo v2 with a queue of negatives and a JigSaw branch."""

import math

import keras
from keras import ops

from keras_infomin import bounds
from keras_infomin import distribute
from keras_infomin.distribute import scale_loss as scale_for_replicas
from keras_infomin.models import base
from keras_infomin.utils import register
from keras_infomin.utils.validation import check_in_range
from keras_infomin.utils.validation import check_positive


def clone_layer(layer, name):
    """A fresh layer with `layer`'s config (weights are copied at build)."""
    if layer is None:
        return None
    config = keras.saving.serialize_keras_object(layer)
    clone = keras.saving.deserialize_keras_object(config)
    clone.name = name
    return clone


def assign_in_sync(variables, values):
    """Assigns `values` to `variables` from a train step, any strategy.

    In a replica context with several replicas the assignment goes through
    `merge_call`, where every mirrored copy receives its own replica's value
    (the values are equal on all replicas: they derive from synchronised
    weights and gathered keys). Elsewhere it is a plain assignment.
    """
    import tensorflow as tf

    ctx = tf.distribute.get_replica_context()
    if ctx is None or distribute.num_replicas() == 1:
        for variable, value in zip(variables, values):
            variable.assign(value)
        return

    def merge(strategy, *pairs):
        for variable, value in pairs:
            strategy.extended.update(
                variable, lambda v, x: v.assign(x), args=(value,)
            )

    tf_variables = [getattr(v, "value", v) for v in variables]
    ctx.merge_call(merge, args=tuple(zip(tf_variables, values)))


@register
class MomentumContrast(keras.Model):
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
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(queue_size, int) or queue_size < 1:
            raise ValueError(
                f"`queue_size` must be a positive int; received {queue_size!r}."
            )
        self.queue_size = queue_size
        self.momentum = check_in_range("momentum", momentum, 0.0, 1.0)
        self.temperature = check_positive("temperature", temperature)
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
        self.key_encoder = clone_layer(encoder, "key_encoder")
        self.key_projector = clone_layer(projector, "key_projector")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.mi_tracker = keras.metrics.Mean(name="mi")
        self.jigsaw_tracker = keras.metrics.Mean(name="mi_jigsaw")

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
        dim = query.shape[-1]
        self.queue = self.add_weight(
            shape=(self.queue_size, dim),
            initializer=_unit_rows,
            trainable=False,
            name="queue",
        )
        self.queue_pointer = self.add_weight(
            shape=(),
            initializer="zeros",
            dtype="int32",
            trainable=False,
            name="queue_pointer",
        )
        self.keys_initialized = self.add_weight(
            shape=(),
            initializer="zeros",
            dtype="bool",
            trainable=False,
            name="keys_initialized",
        )
        for key in _all_key_weights(self._key_layers()):
            key.trainable = False
        if not tf.inside_function():
            self._momentum_update(initial=True)
        self.built = True

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
    def queue_bound(self, query, key):
        """InfoNCE of `query` against its `key` and the queue, in nats."""
        query = base.l2_normalize(query)
        positive = ops.sum(query * ops.cast(key, query.dtype), axis=-1)
        negatives = ops.matmul(
            query, ops.transpose(ops.cast(self.queue, query.dtype))
        )
        scores = ops.concatenate(
            [ops.expand_dims(positive, 1), negatives], axis=1
        )
        scores = ops.cast(scores, "float32") / self.temperature
        n = ops.shape(scores)[0]
        mask = ops.equal(
            ops.expand_dims(ops.zeros((n,), "int32"), 1),
            ops.expand_dims(ops.arange(self.queue_size + 1, dtype="int32"), 0),
        )
        return bounds.infonce(scores, positive_mask=mask)

    def _keys(self, view, training):
        key = self.key_embed(view, training=training)
        return ops.stop_gradient(ops.cast(base.l2_normalize(key), "float32"))

    def _ensure_built(self, data):
        if not self.built:
            shape = base.call_input_shape(data, self.view_layer, 2)
            self.build(shape if self.view_layer is not None else shape[0])

    def _terms(self, data, training):
        self._ensure_built(data)
        views, _ = base.split_batch(data, self.view_layer, 2, training=True)
        base.check_views(views, 2)
        self._check_queue(views[0])
        keys = [self._keys(views[1], training)]
        value = self.queue_bound(self.embed(views[0], training), keys[0])
        if self.symmetric:
            keys.append(self._keys(views[0], training))
            back = self.queue_bound(self.embed(views[1], training), keys[1])
            value = 0.5 * (value + back)
        # The global batch's values on every replica (see
        # `base.cross_replica_mean`): exact steps and logs for any split.
        rows = ops.shape(views[0])[0]
        value = base.cross_replica_mean(value, rows)
        loss = -value
        jigsaw_value = None
        if self.jigsaw is not None:
            x, _, _ = keras.utils.unpack_x_y_sample_weight(data)
            tiles = self.jigsaw(x, training=True)
            embedding = self._jigsaw_embedding(tiles, training)
            jigsaw_value = self.queue_bound(embedding, keys[0])
            jigsaw_value = base.cross_replica_mean(jigsaw_value, rows)
            loss = loss - self.jigsaw_weight * jigsaw_value
        return loss, value, jigsaw_value, keys

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
        assign_in_sync(
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
        assign_in_sync([self.queue, self.queue_pointer], [queue, pointer])

    def train_step(self, data):
        import tensorflow as tf

        self._ensure_built(data)
        self._momentum_update()
        with tf.GradientTape() as tape:
            loss, value, jigsaw_value, keys = self._terms(data, training=True)
            total = loss
            if self.losses:
                total = total + ops.sum(ops.stack(self.losses))
            scaled = self.optimizer.scale_loss(scale_for_replicas(total))
        variables = self.trainable_variables
        grads = tape.gradient(scaled, variables)
        self.optimizer.apply(grads, variables)
        self._enqueue(keys)
        return self._logs(loss, value, jigsaw_value)

    def test_step(self, data):
        loss, value, jigsaw_value, _ = self._terms(data, training=False)
        return self._logs(loss, value, jigsaw_value)

    def _logs(self, loss, value, jigsaw_value):
        self.loss_tracker.update_state(loss)
        self.mi_tracker.update_state(value)
        logs = {
            "loss": self.loss_tracker.result(),
            "mi": self.mi_tracker.result(),
            "mi_cap": math.log(self.queue_size + 1),
        }
        if jigsaw_value is not None:
            self.jigsaw_tracker.update_state(jigsaw_value)
            logs["mi_jigsaw"] = self.jigsaw_tracker.result()
        return distribute.reducible_logs(logs)

    @property
    def metrics(self):
        tracked = [self.loss_tracker, self.mi_tracker]
        if self.jigsaw is not None:
            tracked.append(self.jigsaw_tracker)
        return tracked

    # ---------------------------------------------------------------- config
    def get_config(self):
        config = super().get_config()
        config.update(
            encoder=base.serialize(self.encoder),
            projector=base.serialize(self.projector),
            queue_size=self.queue_size,
            momentum=self.momentum,
            temperature=self.temperature,
            symmetric=self.symmetric,
            view_layer=base.serialize(self.view_layer),
            jigsaw=base.serialize(self.jigsaw),
            jigsaw_head=base.serialize(self.jigsaw_head),
            jigsaw_weight=self.jigsaw_weight,
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("encoder", "projector", "view_layer", "jigsaw"):
            config[key] = base.deserialize(config.get(key))
        config["jigsaw_head"] = base.deserialize(config.get("jigsaw_head"))
        return cls(**config)


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
