"""`PairModel`: a functional model whose loss reads all its outputs at once."""

import keras
from keras import ops

from keras_infomin.utils import register


@register
class PairModel(keras.Model):
    """A functional model whose compiled loss and metrics see its whole output.

    Keras applies a compiled loss to each output of a model with several
    outputs separately (and, without labels, fails with "The path: (0,) in
    the loss argument ..."). A contrastive loss needs both embeddings of a
    pair together: built as `PairModel(inputs, [z1, z2])`, the model hands
    the list `[z1, z2]` (or any output structure) to the loss and to every
    compiled metric in one call. Everything else is `keras.Model`.

    The losses of `keras_infomin.losses` read a pair `(z1, z2)` of `[N, d]`
    and `[M, d]` embeddings, `z2[N:]` being extra negatives, and gather the
    negatives of every replica under `tf.distribute`.

    Example:

    ```python
    inputs = keras.Input((784,))
    z1, z2 = encoder(view_a(inputs)), encoder(view_b(inputs))
    model = keras_infomin.models.PairModel(inputs, [z1, z2])
    model.compile(
        optimizer="adam",
        loss=keras_infomin.losses.InfoNCE(temperature=0.1, cosine=True),
        metrics=[keras_infomin.metrics.MutualInformation("nwj")],
    )
    model.fit(images, epochs=10)  # no labels needed
    ```
    """

    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        """`keras.Model.compile`; `loss` and `metrics` read the whole output.

        `loss_weights` and `weighted_metrics` are per-output notions and
        are refused.
        """
        for name in ("loss_weights", "weighted_metrics"):
            if kwargs.get(name) is not None:
                raise ValueError(
                    f"PairModel passes its whole output to one loss; "
                    f"`{name}` (one entry per output) does not apply."
                )
        self.whole_loss = None
        if loss is not None:
            self.whole_loss = keras.losses.get(loss)
            if not isinstance(self.whole_loss, keras.losses.Loss):
                self.whole_loss = keras.losses.LossFunctionWrapper(
                    self.whole_loss
                )
        self.whole_metrics = [keras.metrics.get(m) for m in metrics or []]
        super().compile(optimizer=optimizer, loss=loss, **kwargs)

    def compute_loss(
        self, x=None, y=None, y_pred=None, sample_weight=None, training=True
    ):
        del x, training
        if self.whole_loss is None:
            raise ValueError("No loss to compute: pass `loss` to `compile()`.")
        total = ops.cast(self.whole_loss(y, y_pred, sample_weight), "float32")
        for loss in self.losses:
            total = total + ops.cast(
                self._aggregate_additional_loss(loss), "float32"
            )
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        del x
        for metric in self.whole_metrics:
            metric.update_state(y, y_pred, sample_weight=sample_weight)
        return self.get_metrics_result()

    def compile_from_config(self, config):
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def get_compile_config(self):
        config = super().get_compile_config()
        if config is not None:
            config["metrics"] = [
                keras.saving.serialize_keras_object(m)
                for m in self.whole_metrics
            ]
        return config
