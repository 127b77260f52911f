"""The layers of the robustness sweep, and kernels that misbehave on empty
batches whatever the CPU.

`LAYERS` holds one factory per view layer and preset of the package (called
after the dtype policy is set, since a layer takes the policy at
construction). `misbehaving_kernels` patches in, for a test,

- a `tf.nn.depthwise_conv2d` that on an empty batch returns the shape that
  oneDNN returns on AVX-512 CPUs with VALID padding (the input's spatial
  size instead of the output's), and
- a `switch_per_sample` whose branches fail on an empty part,

so a test over them fails on every CPU if any op, present or future, gets
an empty part of a batch.
"""

import importlib
import pkgutil

import tensorflow as tf

from keras_infomin import views
from keras_infomin.encoders import RealNVP

SIZE = 16
BATCH_SIZES = (1, 2, 3, 16, 64, 257)


def _flow_generator():
    flow = RealNVP(2, (8,), coupling="affine", init_std=1e-3, seed=0)
    return views.FlowViewGenerator(flow, input_space="ydbdr")


LAYERS = {
    "RandomResizedCrop": lambda: views.RandomResizedCrop(8, 8, seed=1),
    "RandomHorizontalFlip": lambda: views.RandomHorizontalFlip(seed=1),
    "RandomGrayscale": lambda: views.RandomGrayscale(0.5, seed=1),
    "ColorJitter": lambda: views.ColorJitter(0.8, 0.8, 0.8, 0.2, seed=1),
    "GaussianBlur": lambda: views.GaussianBlur(kernel_size=5, seed=1),
    "RandAugment": lambda: views.RandAugment(seed=1),
    "RandomApply": lambda: views.RandomApply(
        views.GaussianBlur(kernel_size=3, seed=2), rate=0.5, seed=1
    ),
    "RandomChoice": lambda: views.RandomChoice(
        [
            views.RandomResizedCrop(8, 8, seed=2),
            views.Compose(
                [
                    views.RandomResizedCrop(8, 8, scale=(0.05, 0.2), seed=3),
                    views.RandomGrayscale(0.5, seed=4),
                ]
            ),
        ],
        weights=[3, 1],
        seed=1,
    ),
    "Compose": lambda: views.Compose(
        [
            views.RandomResizedCrop(8, 8, seed=2),
            views.RandomHorizontalFlip(seed=3),
        ]
    ),
    "Views": lambda: views.Views(
        [views.RandomResizedCrop(8, 8, seed=2), views.GaussianBlur(seed=3)]
    ),
    "JigSaw": lambda: views.JigSaw(
        2,
        6,
        tile_transform=views.RandomApply(
            views.RandomGrayscale(1.0, seed=2), 0.5, seed=3
        ),
        return_permutation=True,
        seed=1,
    ),
    "PatchPair": lambda: views.PatchPair(6, 5, return_offsets=True, seed=1),
    "SimCLRAugment": lambda: views.SimCLRAugment(12, blur_rate=0.5, seed=1),
    "MoCoV2Augment": lambda: views.MoCoV2Augment(12, seed=1),
    # At 20 pixels the recipe's blur kernel is 3 wide (on).
    "InfoMinAugment": lambda: views.InfoMinAugment(20, seed=1),
    "ColorSpace": lambda: views.ColorSpace("lab", normalize=True),
    "ChannelSplit": lambda: views.ChannelSplit("ydbdr"),
    "FlowViewGenerator": _flow_generator,
}
PRESETS = ("SimCLRAugment", "MoCoV2Augment", "InfoMinAugment")


def flat_outputs(out):
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _oneDNN_depthwise(real):
    def depthwise_conv2d(x, filters, strides, padding, *args, **kwargs):
        def wrong():
            shape = tf.shape(x)
            channels = shape[3] * tf.shape(filters)[3]
            return tf.zeros(tf.stack([0, shape[1], shape[2], channels]))

        return tf.cond(
            tf.shape(x)[0] > 0,
            lambda: real(x, filters, strides, padding, *args, **kwargs),
            wrong,
        )

    return depthwise_conv2d


def _strict_switch(real):
    def guard(branch):
        if branch is None:
            return None

        def run(part):
            size = tf.shape(tf.nest.flatten(part)[0])[0]
            check = tf.debugging.assert_positive(
                size, message="a branch received an empty part of the batch"
            )
            with tf.control_dependencies([check]):
                part = tf.nest.map_structure(tf.identity, part)
            return branch(part)

        return run

    def switch_per_sample(index, inputs, branches, output_shape=None):
        return real(index, inputs, [guard(b) for b in branches], output_shape)

    return switch_per_sample


def misbehaving_kernels(monkeypatch):
    """Patches in the kernels described in the module docstring."""
    monkeypatch.setattr(
        tf.nn, "depthwise_conv2d", _oneDNN_depthwise(tf.nn.depthwise_conv2d)
    )
    real = views.base.switch_per_sample
    strict = _strict_switch(real)
    for info in pkgutil.iter_modules(views.__path__):
        module = importlib.import_module(f"{views.__name__}.{info.name}")
        if getattr(module, "switch_per_sample", None) is real:
            monkeypatch.setattr(module, "switch_per_sample", strict)
