"""Image arrays for the workflows: folders, `.tar.gz` archives, tfds names.

`keras_infomin.data.load` streams folders, archives and tfds datasets; the
sweeps, probes and the command line also need in-memory subsets drawn at
random (image folders are sorted by class, so the first N files are a few
classes). `load_images` and `load_splits` add them on top of it.
"""

import os

import numpy as np

from keras_infomin import data
from keras_infomin.data.archives import HELD_OUT_SPLITS


def _held_out_split(folder):
    for split in HELD_OUT_SPLITS:
        if os.path.isdir(os.path.join(folder, split)):
            return split
    return None


def load_images(
    spec,
    split="train",
    count=None,
    image_size=32,
    seed=0,
    cache_dir=None,
    batch_size=500,
):
    """A random subset of images and labels as NumPy arrays.

    Files are shuffled (with `seed`) before decoding, so a subset is drawn
    over all classes.

    Args:
        spec: folder, archive or tfds name (see `data.resolve`).
        split: split sub-folder or tfds split.
        count: number of images (None: all of the split).
        image_size: side the images are resized to (int or pair; None
            keeps the stored size).
        seed: seed of the draw.
        cache_dir: where archives are unpacked.
        batch_size: decoding batch size.

    Returns:
        `(images, labels)`: float32 `[count, H, W, C]` in [0, 1] and int64
        `[count]`.

    Raises:
        FileNotFoundError: missing folder or archive.
        ValueError: fewer than `count` images, or nothing to read.
    """
    dataset = data.load(
        spec,
        split,
        cache_dir=cache_dir,
        batch_size=batch_size,
        image_size=image_size,
        shuffle=True,
        seed=seed,
        drop_remainder=False,
    )
    images, labels, total = [], [], 0
    for x, y in dataset:
        images.append(x.numpy())
        labels.append(y.numpy())
        total += len(images[-1])
        if count is not None and total >= count:
            break
    if not images:
        raise ValueError(f"{spec!r} split {split!r} holds no images.")
    images = np.concatenate(images)[:count]
    labels = np.concatenate(labels)[:count]
    if count is not None and len(images) < count:
        raise ValueError(
            f"{spec!r} split {split!r} holds only {len(images)} images; "
            f"{count} were asked for."
        )
    return images.astype("float32"), labels.astype("int64")


def load_splits(
    spec, train_count, test_count, image_size=32, seed=0, cache_dir=None
):
    """`((x_train, y_train), (x_test, y_test))` drawn at random from `spec`.

    A folder with a `test` (or `validation`, `val`) sub-folder and tfds
    names give their training and held-out splits; a folder of classes
    alone is split at random into disjoint parts.

    Args:
        spec: folder, archive or tfds name (see `data.resolve`).
        train_count, test_count: images in each part (None: all).
        image_size, seed, cache_dir: as in `load_images`.

    Returns:
        The two `(images, labels)` pairs.
    """
    source = data.resolve(spec, cache_dir)
    if not os.path.isdir(source):
        held = "test"
    else:
        held = _held_out_split(source)
    if held is not None:
        train = load_images(source, "train", train_count, image_size, seed)
        test = load_images(source, held, test_count, image_size, seed)
        return train, test
    if train_count is None or test_count is None:
        x, y = load_images(source, None, None, image_size, seed)
        cut = len(x) // 2 if train_count is None else train_count
        if test_count is not None:
            cut = len(x) - test_count
    else:
        x, y = load_images(
            source, None, train_count + test_count, image_size, seed
        )
        cut = train_count
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
