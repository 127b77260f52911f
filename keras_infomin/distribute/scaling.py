"""Loss scaling so that summed replica gradients equal one-replica gradients.

Under a `tf.distribute` strategy with `R` replicas, each replica computes a
loss `L_r` on its share of the global batch, and the optimizer *sums* the
replicas' gradients before applying them (Keras 3 optimizers all-reduce with
`SUM` in replica context). If `L_r` is a mean over replica `r`'s rows, the
sum of the gradients is `R` times the gradient of the mean over the global
batch; dividing every `L_r` by `R` fixes this:

    sum_r grad(L_r / R) = grad( (1/R) sum_r L_r ) = grad(L_global)

where `L_global` is the mean over the global batch, provided the replicas
hold equally many rows (always the case with `drop_remainder=True`; a short
last batch weights its rows slightly differently). The same holds for
InfoNCE over gathered negatives, where `L_r` averages over the local anchors
while every anchor is scored against the whole global batch.

Relation to Keras. `keras.losses.Loss` objects with the default reductions
(`"sum_over_batch_size"`, `"mean"`, ...) already apply this division
themselves under the TensorFlow backend (`scale_loss_for_distribution` in
`keras/src/losses/loss.py`), and so does `Model.compute_loss` for the
model's added losses. Do not scale such values a second time. `scale_loss`
is for losses computed with raw ops inside a custom `train_step` (our
critics' and bounds' outputs, `tf.reduce_mean` of anything, `sum(self.losses)`
summed by hand). It is independent of `optimizer.scale_loss`, which is the
mixed-precision loss scale of `LossScaleOptimizer` and is applied after.
To *report* a scaled loss, undo the division with `unscale_loss` (Keras
averages the values returned by `train_step` over replicas).
"""

import tensorflow as tf

from keras_infomin.distribute.replica import num_replicas


def _times_replicas(loss, power):
    loss = tf.convert_to_tensor(loss)
    if not loss.dtype.is_floating:
        raise TypeError(
            "`loss` must be a floating-point tensor; received dtype "
            f"{loss.dtype.name}."
        )
    replicas = num_replicas()
    if replicas == 1:
        return loss
    return loss * tf.cast(float(replicas) ** power, loss.dtype)


def scale_loss(loss):
    """Divides `loss` by the number of replicas in sync.

    Args:
        loss: a floating-point tensor (usually a scalar, the mean loss over
            this replica's rows).

    Returns:
        `loss / num_replicas()` in the dtype of `loss`; `loss` itself when
        there is a single replica.

    Example:

    ```python
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(per_example_loss)
        scaled = scale_loss(loss)
    grads = tape.gradient(scaled, self.trainable_variables)
    self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
    ```
    """
    return _times_replicas(loss, -1)


def unscale_loss(loss):
    """Multiplies `loss` by the number of replicas in sync (undoes scaling).

    Args:
        loss: a floating-point tensor produced by `scale_loss`.

    Returns:
        `loss * num_replicas()`.

    Example:

    ```python
    self.loss_tracker.update_state(unscale_loss(scaled))
    ```
    """
    return _times_replicas(loss, 1)
