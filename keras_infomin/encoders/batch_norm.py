"""Batch normalization with TensorFlow's fused kernel in training."""

import keras

from keras_infomin.utils import register

_FUSED_DTYPES = ("float32", "bfloat16", "float16")


@register
class BatchNormalization(keras.layers.BatchNormalization):
    r"""`keras.layers.BatchNormalization`, fused in training on TensorFlow.

        y = gamma * (x - mean_B) / sqrt(var_B + epsilon) + beta
        moving = momentum * moving + (1 - momentum) * batch statistic

    The same layer, weights and values as Keras' (biased batch variance in
    the moving average, as Keras); only the graph differs. In training,
    on the TensorFlow backend, for 4-D channels-last inputs it runs one
    `FusedBatchNormV3` kernel forward and one backward, reading
    low-precision inputs (`mixed_bfloat16`, `mixed_float16`) directly,
    with float32 statistics, instead of Keras' float32 cast, moments and
    affine ops, each differentiated separately. Every other case
    (inference, masks, `synchronized`, `renorm`, other ranks or axes,
    other backends) is Keras' own code. Exports stay plain TensorFlow
    (`FusedBatchNormV3` has a registered gradient; XLA compiles it).

    Args:
        As `keras.layers.BatchNormalization`.

    Example:

    >>> layer = BatchNormalization()
    >>> x = np.random.default_rng(0).normal(size=(4, 3, 3, 2))
    >>> y = layer(x.astype("float32"), training=True)
    >>> np.allclose(np.mean(y, axis=(0, 1, 2)), 0.0, atol=1e-5)
    True
    """

    def _fusable(self, inputs, training, mask):
        if keras.backend.backend() != "tensorflow":
            return False
        rank = len(inputs.shape)
        return (
            training is True
            and self.trainable
            and mask is None
            and not self.synchronized
            and not self.renorm
            and rank == 4
            and self.axis in (3, -1)
            and inputs.shape[-1] is not None
            and keras.backend.standardize_dtype(inputs.dtype) in _FUSED_DTYPES
        )

    def call(self, inputs, training=None, mask=None):
        if not self._fusable(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        channels = inputs.shape[-1]
        scale = self.gamma if self.scale else tf.ones([channels])
        offset = self.beta if self.center else tf.zeros([channels])
        y, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=inputs,
            scale=tf.cast(scale, "float32"),
            offset=tf.cast(offset, "float32"),
            mean=tf.zeros([0]),
            variance=tf.zeros([0]),
            epsilon=self.epsilon,
            data_format="NHWC",
            is_training=True,
        )
        # The kernel returns the Bessel-corrected batch variance; Keras
        # averages the biased one.
        count = tf.cast(tf.size(inputs) // channels, "float32")
        variance = variance * (tf.maximum(count - 1.0, 0.0) / count)
        m = self.momentum
        self.moving_mean.assign(
            self.moving_mean * m + tf.stop_gradient(mean) * (1.0 - m)
        )
        self.moving_variance.assign(
            self.moving_variance * m + tf.stop_gradient(variance) * (1.0 - m)
        )
        return tf.cast(y, self.compute_dtype)
