"""ResNet backbones with the CIFAR stem (3x3 convolution, no max-pool)."""

import keras
from keras import ops

from keras_infomin.encoders.batch_norm import BatchNormalization
from keras_infomin.encoders.conv import Conv2D
from keras_infomin.utils import check_positive
from keras_infomin.utils import register

# depth -> (block type, blocks per stage)
_DEPTHS = {
    18: ("basic", (2, 2, 2, 2)),
    34: ("basic", (3, 4, 6, 3)),
    50: ("bottleneck", (3, 4, 6, 3)),
    101: ("bottleneck", (3, 4, 23, 3)),
}
_EXPANSION = {"basic": 1, "bottleneck": 4}


class _Blocks:
    """Builds the convolutions and batch norms shared by both block types."""

    def _conv(self, filters, kernel_size, strides, name):
        # Stride 1: "same" pads k // 2 on every side, inside the kernel.
        # Stride 2: an explicit symmetric pad of k // 2, as in the
        # reference ResNets ("same" would pad only the bottom/right edge).
        return Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="same" if strides == 1 else "valid",
            use_bias=False,
            kernel_initializer=keras.initializers.get(self.kernel_initializer),
            dtype=self.dtype_policy,
            name=name,
        )

    @staticmethod
    def _pad(x, conv):
        p = conv.kernel_size[0] // 2
        if p == 0 or conv.padding == "same":
            return x
        return ops.pad(x, [[0, 0], [p, p], [p, p], [0, 0]])

    @staticmethod
    def _padded_shape(shape, conv):
        p = conv.kernel_size[0] // 2
        if p == 0 or conv.padding == "same":
            return tuple(shape)
        grow = [None if s is None else s + 2 * p for s in shape[1:3]]
        return (shape[0], *grow, shape[3])

    def _apply_conv(self, conv, x):
        return conv(self._pad(x, conv))

    def _conv_shape(self, conv, shape):
        return conv.compute_output_shape(self._padded_shape(shape, conv))

    def _build_conv(self, conv, shape):
        conv.build(self._padded_shape(shape, conv))
        return self._conv_shape(conv, shape)

    def _bn(self, name, zero_gamma=False):
        return BatchNormalization(
            momentum=self.bn_momentum,
            epsilon=self.bn_epsilon,
            gamma_initializer="zeros" if zero_gamma else "ones",
            synchronized=self.synchronized_bn,
            dtype=self.dtype_policy,
            name=name,
        )


@register
class ResNetBlock(_Blocks, keras.layers.Layer):
    """One residual block, basic (two 3x3) or bottleneck (1x1, 3x3, 1x1).

    `y = relu(F(x) + shortcut(x))`, where `shortcut` is the identity when
    shapes agree and a strided 1x1 convolution with batch norm otherwise.
    In bottleneck blocks the stride sits on the 3x3 convolution and the
    output has `4 * filters` channels.

    Args:
        filters: base number of filters.
        strides: stride of the block (1 or 2).
        block: `"basic"` or `"bottleneck"`.
        bn_momentum, bn_epsilon, synchronized_bn: `BatchNormalization`
            arguments.
        zero_init_residual: initialise the last batch norm's scale to 0 so
            the block starts as its shortcut.
        kernel_initializer: initializer of the convolutions.
        **kwargs: base `Layer` arguments.

    Returns:
        The block's output, `[batch, H / strides, W / strides, C_out]`.

    Example:

    >>> block = ResNetBlock(16, strides=2, block="bottleneck")
    >>> block(np.zeros((2, 8, 8, 3), "float32")).shape
    (2, 4, 4, 64)
    """

    def __init__(
        self,
        filters,
        strides=1,
        block="basic",
        bn_momentum=0.9,
        bn_epsilon=1e-5,
        synchronized_bn=False,
        zero_init_residual=False,
        kernel_initializer="he_normal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if block not in _EXPANSION:
            raise ValueError(
                f"`block` must be 'basic' or 'bottleneck'; received {block!r}."
            )
        self.filters = int(check_positive("filters", filters))
        self.strides = int(check_positive("strides", strides))
        self.block = block
        self.bn_momentum = bn_momentum
        self.bn_epsilon = bn_epsilon
        self.synchronized_bn = bool(synchronized_bn)
        self.zero_init_residual = bool(zero_init_residual)
        self.kernel_initializer = keras.initializers.serialize(
            keras.initializers.get(kernel_initializer)
        )
        self.out_channels = self.filters * _EXPANSION[block]
        f, s = self.filters, self.strides
        if block == "basic":
            specs = [(f, 3, s), (f, 3, 1)]
        else:
            specs = [(f, 1, 1), (f, 3, s), (4 * f, 1, 1)]
        self._convs = []
        self._bns = []
        for i, (filters_i, k, stride) in enumerate(specs):
            last = i == len(specs) - 1
            self._convs.append(self._conv(filters_i, k, stride, f"conv_{i}"))
            self._bns.append(
                self._bn(f"bn_{i}", zero_gamma=last and self.zero_init_residual)
            )
        self._shortcut_conv = None
        self._shortcut_bn = None

    def build(self, input_shape):
        shape = tuple(input_shape)
        for conv, bn in zip(self._convs, self._bns):
            shape = self._build_conv(conv, shape)
            bn.build(shape)
        if self.strides != 1 or input_shape[-1] != self.out_channels:
            self._shortcut_conv = self._conv(
                self.out_channels, 1, self.strides, "shortcut_conv"
            )
            self._shortcut_bn = self._bn("shortcut_bn")
            self._build_conv(self._shortcut_conv, tuple(input_shape))
            self._shortcut_bn.build(shape)

    def call(self, inputs, training=None):
        x = inputs
        last = len(self._convs) - 1
        for i, (conv, bn) in enumerate(zip(self._convs, self._bns)):
            x = bn(self._apply_conv(conv, x), training=training)
            if i < last:
                x = keras.activations.relu(x)
        shortcut = inputs
        if self._shortcut_conv is not None:
            shortcut = self._shortcut_bn(
                self._apply_conv(self._shortcut_conv, inputs),
                training=training,
            )
        return keras.activations.relu(x + shortcut)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for conv in self._convs:
            shape = self._conv_shape(conv, shape)
        return shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "strides": self.strides,
                "block": self.block,
                "bn_momentum": self.bn_momentum,
                "bn_epsilon": self.bn_epsilon,
                "synchronized_bn": self.synchronized_bn,
                "zero_init_residual": self.zero_init_residual,
                "kernel_initializer": self.kernel_initializer,
            }
        )
        return config


@register
class ResNetCIFAR(_Blocks, keras.layers.Layer):
    """ResNet-18/34/50/101 for small images, ending in global average pooling.

    The CIFAR variant of He et al. (2016): the stem is a single 3x3
    convolution with stride 1 (plus batch norm and ReLU) and no max-pool,
    followed by four stages of residual blocks with `width * (1, 2, 4, 8)`
    filters and strides `(1, 2, 2, 2)`. Depth 18 and 34 use basic blocks,
    50 and 101 bottleneck blocks (output channels x4). Convolutions have no
    bias. A 32x32 input ends as a 4x4 map, pooled to a vector of
    `8 * width` (basic) or `32 * width` (bottleneck) features: 512 for
    ResNet-18 and 2048 for ResNet-50 at `width=64`.

    Args:
        depth: 18, 34, 50 or 101.
        width: filters of the stem and the first stage (64 is standard).
        bn_momentum: `BatchNormalization` momentum (0.9 = PyTorch's 0.1).
        bn_epsilon: `BatchNormalization` epsilon.
        synchronized_bn: passed to `BatchNormalization(synchronized=...)`:
            batch statistics over all replicas of a `tf.distribute`
            strategy (TensorFlow backend only).
        zero_init_residual: start each block's last batch-norm scale at 0.
        kernel_initializer: initializer of all convolutions.
        **kwargs: base `Layer` arguments.

    Returns:
        A `[batch, output_dim]` tensor of pooled features.

    Example:

    >>> encoder = ResNetCIFAR(depth=18)
    >>> encoder(np.zeros((2, 32, 32, 3), "float32")).shape
    (2, 512)
    """

    def __init__(
        self,
        depth=18,
        width=64,
        bn_momentum=0.9,
        bn_epsilon=1e-5,
        synchronized_bn=False,
        zero_init_residual=False,
        kernel_initializer="he_normal",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if depth not in _DEPTHS:
            raise ValueError(
                f"`depth` must be one of {sorted(_DEPTHS)}; received "
                f"depth={depth!r}."
            )
        self.depth = depth
        self.width = int(check_positive("width", width))
        self.bn_momentum = bn_momentum
        self.bn_epsilon = bn_epsilon
        self.synchronized_bn = bool(synchronized_bn)
        self.zero_init_residual = bool(zero_init_residual)
        self.kernel_initializer = keras.initializers.serialize(
            keras.initializers.get(kernel_initializer)
        )
        block, counts = _DEPTHS[depth]
        self.output_dim = 8 * self.width * _EXPANSION[block]
        self._stem = self._conv(self.width, 3, 1, "stem_conv")
        self._stem_bn = self._bn("stem_bn")
        self._blocks = []
        for stage, count in enumerate(counts):
            for i in range(count):
                self._blocks.append(
                    ResNetBlock(
                        self.width * 2**stage,
                        strides=2 if (i == 0 and stage > 0) else 1,
                        block=block,
                        bn_momentum=bn_momentum,
                        bn_epsilon=bn_epsilon,
                        synchronized_bn=self.synchronized_bn,
                        zero_init_residual=self.zero_init_residual,
                        kernel_initializer=self.kernel_initializer,
                        dtype=self.dtype_policy,
                        name=f"stage_{stage + 1}_block_{i + 1}",
                    )
                )
        self._pool = keras.layers.GlobalAveragePooling2D(
            dtype=self.dtype_policy
        )

    def build(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != 4:
            raise ValueError(
                "`ResNetCIFAR` expects images [batch, height, width, "
                f"channels]; received input shape {shape}."
            )
        shape = self._build_conv(self._stem, shape)
        self._stem_bn.build(shape)
        for block in self._blocks:
            block.build(shape)
            shape = block.compute_output_shape(shape)

    def call(self, inputs, training=None):
        x = self._apply_conv(self._stem, inputs)
        x = keras.activations.relu(self._stem_bn(x, training=training))
        for block in self._blocks:
            x = block(x, training=training)
        return self._pool(x)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "depth": self.depth,
                "width": self.width,
                "bn_momentum": self.bn_momentum,
                "bn_epsilon": self.bn_epsilon,
                "synchronized_bn": self.synchronized_bn,
                "zero_init_residual": self.zero_init_residual,
                "kernel_initializer": self.kernel_initializer,
            }
        )
        return config
