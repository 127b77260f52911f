"""Data resolution shared by the image examples (not part of the library).

`--data` may name
- a folder laid out as `split/class/image.jpg` or `class/image.jpg`;
- a `.tar.gz` archive of such a folder, unpacked once into `.cache/`
  (git-ignored), e.g. the CIFAR-10 JPEG copy of this project's workplace;
- a tensorflow-datasets name (`cifar10`, `stl10`, ...), loaded through
  `keras_infomin.data.load` (needs the data prepared, or internet).
"""

import os
import tarfile

import numpy as np

import keras_infomin as kim

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


def resolve(spec, cache_dir=".cache"):
    """A folder path or a tfds name for `spec` (unpacking archives once)."""
    if spec.endswith((".tar.gz", ".tgz")):
        if not os.path.exists(spec):
            raise FileNotFoundError(f"Archive {spec!r} does not exist.")
        name = os.path.basename(spec).split(".")[0]
        target = os.path.join(cache_dir, name)
        done = os.path.join(target, ".unpacked")
        if not os.path.exists(done):
            os.makedirs(target, exist_ok=True)
            with tarfile.open(spec) as archive:
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(target, filter="data")
                else:  # Python without extraction filters
                    archive.extractall(target)
            open(done, "w").close()
        entries = [
            e
            for e in os.listdir(target)
            if os.path.isdir(os.path.join(target, e))
        ]
        # Archives that wrap everything in one top folder.
        if len(entries) == 1 and not {"train", "test"} & set(entries):
            return os.path.join(target, entries[0])
        return target
    return spec


def load_arrays(spec, split, count, image_size=32, seed=0, batch_size=500):
    """A random subset of `count` images and labels, as numpy arrays.

    The files are shuffled before decoding, so the subset is drawn at random
    over all classes (the folders are sorted by class).
    """
    dataset = kim.data.load(
        resolve(spec),
        split,
        batch_size=batch_size,
        image_size=image_size,
        shuffle=True,
        seed=seed,
        drop_remainder=False,
    )
    images, labels = [], []
    for x, y in dataset:
        images.append(x.numpy())
        labels.append(y.numpy())
        if sum(len(i) for i in images) >= count:
            break
    images = np.concatenate(images)[:count]
    labels = np.concatenate(labels)[:count]
    if len(images) < count:
        raise ValueError(
            f"{spec!r} split {split!r} holds only {len(images)} images; "
            f"{count} were asked for."
        )
    return images.astype("float32"), labels.astype("int64")
