"""2-D convolution whose kernel gradient is a sum of matrix products."""

import functools

import keras
from keras import ops

from keras_infomin.utils import register

# Largest output area (H * W) for which the matrix-product kernel gradient
# is used; see `Conv2D`.
_MAX_TAP_AREA = 64
_KERNEL_GRADIENTS = ("auto", "taps", "keras")


@functools.cache
def native_bfloat16_cpu():
    """Whether the taps pay here: a CPU with bfloat16 dot products, no GPU.

    Reads the CPU flags (`avx512_bf16` or `amx_bf16` in /proc/cpuinfo;
    False where there is none) and TensorFlow's visible GPUs, once per
    process.
    """
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return False
    try:
        with open("/proc/cpuinfo") as f:
            flags = set(f.read().split())
    except OSError:
        return False
    return bool(flags & {"avx512_bf16", "amx_bf16"})


@register
class Conv2D(keras.layers.Conv2D):
    r"""`keras.layers.Conv2D` with a faster kernel gradient in bfloat16.

    The same layer, weights, forward values and input gradient as
    Keras'; only how the kernel gradient is computed differs, and only in
    one case: training on the TensorFlow backend with a `bfloat16` compute
    dtype (`mixed_bfloat16`), stride 1, no dilation, one group, "same"
    padding, an odd kernel, channels last, and an output of at most 64
    positions (8 x 8: the last stages of a ResNet on 32 x 32 images).
    There the kernel gradient

        dW[i, j] = sum_{n, h, w} x_pad[n, h + i, w + j, :]^T dy[n, h, w, :]

    runs as one matrix product per kernel tap (9 for a 3 x 3 kernel,
    `[C_in, N H W] x [N H W, C_out]`, oneDNN's bfloat16 GEMM with float32
    accumulation) instead of TensorFlow's `Conv2DBackpropFilter`, whose
    bfloat16 kernel is slow at small spatial sizes: at 4 x 4 x 512 it took
    longer in bfloat16 than in float32 (`benchmarks/conv_kernel_grad.py`
    measures both forms per shape on the machine at hand). Every other
    case, and inference, is Keras' own code, so exports stay plain
    TensorFlow; the custom gradient's ops are themselves differentiable.

    Where it pays was measured on one CPU kind only (AMD EPYC Zen 4,
    `avx512_bf16`, oneDNN through TensorFlow 2.21: the ResNet-18 SimCLR
    step 5-7% faster in bfloat16); the default `kernel_gradient="auto"`
    therefore uses it only on CPUs with native bfloat16 dot products
    (`avx512_bf16` or `amx_bf16`) and when TensorFlow sees no GPU.

    Args:
        kernel_gradient: `"auto"` (above), `"taps"` (the per-tap products
            wherever the case applies, on any device) or `"keras"`
            (TensorFlow's own gradient everywhere).
        **kwargs: as `keras.layers.Conv2D`.

    Example:

    >>> conv = Conv2D(4, 3, padding="same")
    >>> conv(np.zeros((2, 5, 5, 3), "float32")).shape
    (2, 5, 5, 4)
    """

    def __init__(self, *args, kernel_gradient="auto", **kwargs):
        super().__init__(*args, **kwargs)
        if kernel_gradient not in _KERNEL_GRADIENTS:
            raise ValueError(
                f"`kernel_gradient` must be one of {_KERNEL_GRADIENTS}; "
                f"received kernel_gradient={kernel_gradient!r}."
            )
        self.kernel_gradient = kernel_gradient

    def get_config(self):
        return {**super().get_config(), "kernel_gradient": self.kernel_gradient}

    def _uses_tap_gradient(self, inputs, training):
        if keras.backend.backend() != "tensorflow" or training is not True:
            return False
        if self.kernel_gradient == "keras" or (
            self.kernel_gradient == "auto" and not native_bfloat16_cpu()
        ):
            return False
        shape = inputs.shape
        kernel = self.kernel_size
        return (
            self.trainable
            and keras.backend.standardize_dtype(inputs.dtype) == "bfloat16"
            and len(shape) == 4
            and self.data_format == "channels_last"
            and self.padding == "same"
            and self.strides == (1, 1)
            and self.dilation_rate == (1, 1)
            and self.groups == 1
            and kernel[0] % 2 == 1
            and kernel[1] % 2 == 1
            and shape[1] is not None
            and shape[2] is not None
            and shape[1] * shape[2] <= _MAX_TAP_AREA
        )

    def call(self, inputs, training=None):
        if not self._uses_tap_gradient(inputs, training):
            return super().call(inputs)
        kernel = ops.cast(self.kernel, inputs.dtype)
        outputs = conv2d_tap_gradient(inputs, kernel)
        if self.use_bias:
            outputs = ops.add(outputs, ops.cast(self.bias, outputs.dtype))
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs


def conv2d_tap_gradient(x, kernel):
    """Stride-1 "same" convolution, kernel gradient as per-tap products.

    Args:
        x: `[N, H, W, C_in]` tensor.
        kernel: `[kh, kw, C_in, C_out]` tensor of the same dtype, `kh` and
            `kw` odd.

    Returns:
        `tf.nn.conv2d(x, kernel, 1, "SAME")`, whose gradient to `x` is
        TensorFlow's and to `kernel` the sum over taps described in
        `Conv2D`.
    """
    import tensorflow as tf

    kh, kw, c_in, c_out = kernel.shape
    pad = [[0, 0], [kh // 2, kh // 2], [kw // 2, kw // 2], [0, 0]]

    @tf.custom_gradient
    def conv(x, kernel):
        y = tf.nn.conv2d(x, kernel, 1, "SAME")

        def grad(dy):
            dx = tf.raw_ops.Conv2DBackpropInput(
                input_sizes=tf.shape(x),
                filter=kernel,
                out_backprop=dy,
                strides=[1, 1, 1, 1],
                padding="SAME",
            )
            height, width = x.shape[1], x.shape[2]
            padded = tf.pad(x, pad)
            rows = tf.reshape(dy, [-1, c_out])
            taps = [
                tf.matmul(
                    tf.reshape(
                        padded[:, i : i + height, j : j + width, :], [-1, c_in]
                    ),
                    rows,
                    transpose_a=True,
                )
                for i in range(kh)
                for j in range(kw)
            ]
            dkernel = tf.reshape(tf.stack(taps), [kh, kw, c_in, c_out])
            return dx, dkernel

        return y, grad

    return conv(x, kernel)
