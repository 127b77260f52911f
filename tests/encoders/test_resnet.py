import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_infomin.distribute import get_strategy
from keras_infomin.encoders import ResNetBlock
from keras_infomin.encoders import ResNetCIFAR
from keras_infomin.testing import run_layer_test


def _trainable_count(layer):
    return sum(int(np.prod(w.shape)) for w in layer.trainable_weights)


# torchvision's ImageNet ResNets have 11,689,512 (resnet18) and 25,557,032
# (resnet50) parameters. Removing the 1000-way classifier (512*1000 + 1000
# and 2048*1000 + 1000) and replacing the 7x7x3x64 stem by a 3x3x3x64 one
# (-9,408 + 1,728) gives the CIFAR backbones' counts below (BatchNorm
# scale/offset counted, moving statistics not, as in PyTorch).
@pytest.mark.parametrize(
    "depth, expected",
    [
        (18, 11_689_512 - 513_000 - 9_408 + 1_728),
        (50, 25_557_032 - 2_049_000 - 9_408 + 1_728),
    ],
)
def test_parameter_counts_match_reference(depth, expected):
    encoder = ResNetCIFAR(depth=depth)
    encoder.build((None, 32, 32, 3))
    assert _trainable_count(encoder) == expected


@pytest.mark.parametrize("depth, features", [(18, 64), (50, 256)])
def test_output_shape(depth, features):
    encoder = ResNetCIFAR(depth=depth, width=8)
    out = encoder(np.zeros((2, 32, 32, 3), "float32"))
    assert tuple(out.shape) == (2, features) == (2, encoder.output_dim)


def test_layer_contract():
    x = np.random.uniform(size=(2, 16, 16, 3)).astype("float32")
    run_layer_test(ResNetCIFAR(depth=18, width=4), (x,))


def test_block_layer_contract():
    x = np.random.uniform(size=(2, 8, 8, 4)).astype("float32")
    run_layer_test(ResNetBlock(2, strides=2, block="bottleneck"), (x,))


def _bn_inference(x, eps):
    # Fresh BatchNormalization: gamma 1, beta 0, mean 0, variance 1.
    return x / np.sqrt(1.0 + eps)


@pytest.mark.parametrize("strides", [1, 2])
def test_basic_block_matches_tf_nn_reference(strides):
    x = np.random.normal(size=(2, 8, 8, 6)).astype("float32")
    block = ResNetBlock(6, strides=strides, block="basic")
    got = np.asarray(block(x, training=False))
    eps = block.bn_epsilon
    pad = [[0, 0], [1, 1], [1, 1], [0, 0]]
    k0, k1 = (np.asarray(c.kernel) for c in block._convs)
    h = tf.nn.conv2d(x, k0, strides, pad).numpy()
    h = np.maximum(_bn_inference(h, eps), 0)
    h = _bn_inference(tf.nn.conv2d(h, k1, 1, pad).numpy(), eps)
    if strides == 1:
        shortcut = x
    else:
        ks = np.asarray(block._shortcut_conv.kernel)
        shortcut = _bn_inference(tf.nn.conv2d(x, ks, 2, "VALID").numpy(), eps)
    np.testing.assert_allclose(got, np.maximum(h + shortcut, 0), atol=1e-4)


def test_zero_init_residual_starts_as_shortcut():
    x = np.random.normal(size=(2, 6, 6, 5)).astype("float32")
    block = ResNetBlock(5, block="basic", zero_init_residual=True)
    got = np.asarray(block(x, training=False))
    np.testing.assert_allclose(got, np.maximum(x, 0), atol=1e-6)


def test_synchronized_bn_flag_reaches_every_batch_norm():
    encoder = ResNetCIFAR(depth=18, width=4, synchronized_bn=True)
    encoder.build((None, 16, 16, 3))
    bns = [
        layer
        for layer in encoder._flatten_layers(include_self=False)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(bns) == 1 + 8 * 2 + 3  # stem, 8 blocks x 2, 3 projections
    assert all(bn.synchronized for bn in bns)
    rebuilt = ResNetCIFAR.from_config(encoder.get_config())
    assert rebuilt.synchronized_bn


@pytest.mark.parametrize("synchronized", [True, False])
def test_synchronized_bn_under_mirrored_strategy(synchronized):
    # Two replicas with differently distributed halves of the batch: with
    # synchronized batch norm the training-mode output equals one device's
    # output on the whole batch; without it, it does not.
    strategy = get_strategy(["/cpu:0", "/cpu:1"])
    kwargs = dict(filters=4, strides=2, synchronized_bn=synchronized)
    with strategy.scope():
        block = ResNetBlock(**kwargs)
        block.build((None, 6, 6, 3))
    single = ResNetBlock(**kwargs)
    single.build((None, 6, 6, 3))
    single.set_weights(block.get_weights())
    x = np.random.normal(size=(4, 6, 6, 3)).astype("float32")
    x[2:] = 3.0 * x[2:] + 2.0
    dataset = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(x).batch(4)
    )

    @tf.function
    def step(images):
        return strategy.run(lambda v: block(v, training=True), (images,))

    got = np.asarray(strategy.gather(step(next(iter(dataset))), axis=0))
    expected = np.asarray(single(x, training=True))
    close = np.allclose(got, expected, atol=1e-4, rtol=1e-4)
    assert close == synchronized


def test_argument_errors():
    with pytest.raises(ValueError, match="depth"):
        ResNetCIFAR(depth=20)
    with pytest.raises(ValueError, match="block"):
        ResNetBlock(4, block="wide")
    with pytest.raises(ValueError, match="images"):
        ResNetCIFAR(width=2)(np.zeros((2, 8), "float32"))
