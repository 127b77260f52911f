"""keras_infomin.views: layers that make the views of contrastive learning.

Building blocks (batched, per-sample randomness, usable in `tf.data` maps
and in `train_step`, under any dtype policy): `RandomResizedCrop`,
`RandomApply`, `RandomChoice`, `Compose`, `Views`, `ColorJitter`,
`GaussianBlur`, `RandomHorizontalFlip`, `RandomGrayscale`, `RandAugment`,
all built on one template, `ViewLayer` / `RandomViewLayer` (rank, training
flag, seeds, dtype and `value_range` handled once). Recipes (functions
returning a `Compose`): `SimCLRAugment`, `MoCoV2Augment`,
`InfoMinAugment`. InfoMin's view families: colour (`ColorSpace`,
`ChannelSplit` and the conversion functions), space (`PatchPair`),
jigsaw (`JigSaw`, `JigSawHead`), and learned views (`FlowViewGenerator`
around an invertible flow, trained by `models.InfoMinModel`).
"""

from keras_infomin.views.base import RandomViewLayer
from keras_infomin.views.base import ViewLayer
from keras_infomin.views.base import switch_per_sample
from keras_infomin.views.color_jitter import ColorJitter
from keras_infomin.views.color_spaces import COLOR_SPACES
from keras_infomin.views.color_spaces import ChannelSplit
from keras_infomin.views.color_spaces import ColorSpace
from keras_infomin.views.color_spaces import color_space_range
from keras_infomin.views.color_spaces import convert_color
from keras_infomin.views.color_spaces import hsv_to_rgb
from keras_infomin.views.color_spaces import lab_to_rgb
from keras_infomin.views.color_spaces import luv_to_rgb
from keras_infomin.views.color_spaces import rgb_to_hsv
from keras_infomin.views.color_spaces import rgb_to_lab
from keras_infomin.views.color_spaces import rgb_to_luv
from keras_infomin.views.color_spaces import rgb_to_xyz
from keras_infomin.views.color_spaces import rgb_to_ycbcr
from keras_infomin.views.color_spaces import rgb_to_ydbdr
from keras_infomin.views.color_spaces import rgb_to_yiq
from keras_infomin.views.color_spaces import rgb_to_ypbpr
from keras_infomin.views.color_spaces import xyz_to_rgb
from keras_infomin.views.color_spaces import ycbcr_to_rgb
from keras_infomin.views.color_spaces import ydbdr_to_rgb
from keras_infomin.views.color_spaces import yiq_to_rgb
from keras_infomin.views.color_spaces import ypbpr_to_rgb
from keras_infomin.views.compose import Compose
from keras_infomin.views.flip import RandomHorizontalFlip
from keras_infomin.views.flow import FlowViewGenerator
from keras_infomin.views.gaussian_blur import GaussianBlur
from keras_infomin.views.grayscale import RandomGrayscale
from keras_infomin.views.jigsaw import JigSaw
from keras_infomin.views.jigsaw import JigSawHead
from keras_infomin.views.multi_view import Views
from keras_infomin.views.patches import PatchPair
from keras_infomin.views.presets import InfoMinAugment
from keras_infomin.views.presets import MoCoV2Augment
from keras_infomin.views.presets import SimCLRAugment
from keras_infomin.views.rand_augment import RandAugment
from keras_infomin.views.random_apply import RandomApply
from keras_infomin.views.random_choice import RandomChoice
from keras_infomin.views.resized_crop import RandomResizedCrop
from keras_infomin.views.unstack import UnstackViews

__all__ = [
    "COLOR_SPACES",
    "ChannelSplit",
    "ColorJitter",
    "ColorSpace",
    "Compose",
    "FlowViewGenerator",
    "GaussianBlur",
    "InfoMinAugment",
    "JigSaw",
    "JigSawHead",
    "MoCoV2Augment",
    "PatchPair",
    "RandAugment",
    "RandomApply",
    "RandomChoice",
    "RandomGrayscale",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomViewLayer",
    "SimCLRAugment",
    "UnstackViews",
    "ViewLayer",
    "Views",
    "color_space_range",
    "convert_color",
    "hsv_to_rgb",
    "lab_to_rgb",
    "luv_to_rgb",
    "rgb_to_hsv",
    "rgb_to_lab",
    "rgb_to_luv",
    "rgb_to_xyz",
    "rgb_to_ycbcr",
    "rgb_to_ydbdr",
    "rgb_to_yiq",
    "rgb_to_ypbpr",
    "switch_per_sample",
    "xyz_to_rgb",
    "ycbcr_to_rgb",
    "ydbdr_to_rgb",
    "yiq_to_rgb",
    "ypbpr_to_rgb",
]
