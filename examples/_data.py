"""The image examples' default data (not part of the library).

`--data` may name an image folder (`split/class/image.jpg` or
`class/image.jpg`), a `.tar.gz` of one (unpacked once into `.cache/`,
git-ignored) or a tensorflow-datasets name; the library reads all three
(`keras_infomin.analysis.load_images`). Without `--data` the examples read
the CIFAR-10 JPEG copy of this project's workplace when it exists, else
tfds `cifar10`.
"""

import os

import keras_infomin as kim

CACHE_DIR = ".cache"
DEFAULT_ARCHIVE = os.path.join(
    os.path.dirname(__file__),
    "..",
    "..",
    "shared",
    "data",
    "cifar10-jpeg.tar.gz",
)


def default_data():
    """The local CIFAR-10 archive if present, else the tfds name."""
    return DEFAULT_ARCHIVE if os.path.exists(DEFAULT_ARCHIVE) else "cifar10"


def data_label(spec):
    """How tables name the data."""
    if os.path.abspath(spec) == os.path.abspath(DEFAULT_ARCHIVE):
        return "CIFAR-10 (JPEG copy)"
    return spec


def load_arrays(spec, split, count, image_size=32, seed=0):
    """A random subset of `count` images and labels, as numpy arrays."""
    return kim.analysis.load_images(
        spec, split, count, image_size, seed, cache_dir=CACHE_DIR
    )
