"""Image arrays for the workflows: folders, `.tar.gz` archives, tfds names.

`keras_infomin.data.load` streams folders and tfds datasets; the sweeps,
probes and the command line also need archives and in-memory subsets drawn
at random (image folders are sorted by class, so the first N files are a
few classes). `load_images` adds both on top of it.
"""

import os
import shutil
import tarfile

import numpy as np

from keras_infomin import data

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")
HELD_OUT_SPLITS = ("test", "validation", "val")


def default_cache_dir():
    """`$KERAS_INFOMIN_CACHE`, else `~/.cache/keras_infomin`."""
    return os.environ.get(
        "KERAS_INFOMIN_CACHE",
        os.path.join(os.path.expanduser("~"), ".cache", "keras_infomin"),
    )


def _looks_like_path(spec):
    return (
        os.sep in spec
        or spec.startswith((".", "~"))
        or spec.endswith(ARCHIVE_SUFFIXES)
    )


def resolve(spec, cache_dir=None):
    """A folder path or a tfds name for `spec`, unpacking archives once.

    Args:
        spec: an image folder (`class/image` or `split/class/image`), a
            `.tar.gz` / `.tgz` / `.tar` archive of one, or a
            tensorflow-datasets name.
        cache_dir: where archives are unpacked (default
            `default_cache_dir()`); each archive once, under its name and
            size, safely when several processes start at the same time.

    Returns:
        The folder (the archive's single top folder when it has one) or
        the tfds name unchanged.

    Raises:
        FileNotFoundError: `spec` names a path or archive that does not
            exist.
    """
    spec = os.fspath(spec)
    if spec.endswith(ARCHIVE_SUFFIXES):
        if not os.path.isfile(spec):
            raise FileNotFoundError(f"archive {spec!r} does not exist")
        cache_dir = cache_dir or default_cache_dir()
        name = os.path.basename(spec).split(".")[0]
        target = os.path.join(cache_dir, f"{name}-{os.path.getsize(spec)}")
        if not os.path.isdir(target):
            os.makedirs(cache_dir, exist_ok=True)
            partial = f"{target}.partial-{os.getpid()}"
            shutil.rmtree(partial, ignore_errors=True)
            with tarfile.open(spec) as archive:
                if hasattr(tarfile, "data_filter"):
                    archive.extractall(partial, filter="data")
                else:  # pragma: no cover - Python without filters
                    archive.extractall(partial)
            try:
                os.rename(partial, target)
            except OSError:  # another process finished first
                shutil.rmtree(partial, ignore_errors=True)
        entries = [
            e
            for e in sorted(os.listdir(target))
            if os.path.isdir(os.path.join(target, e))
        ]
        # Archives that wrap everything in one top folder.
        if len(entries) == 1 and entries[0] not in ("train",) + (
            HELD_OUT_SPLITS
        ):
            return os.path.join(target, entries[0])
        return target
    path = os.path.expanduser(spec)
    if os.path.isdir(path):
        return path
    if _looks_like_path(spec):
        raise FileNotFoundError(f"folder {spec!r} does not exist")
    return spec


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
        spec: folder, archive or tfds name (see `resolve`).
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
    source = resolve(spec, cache_dir)
    dataset = data.load(
        source,
        split,
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
        spec: folder, archive or tfds name (see `resolve`).
        train_count, test_count: images in each part (None: all).
        image_size, seed, cache_dir: as in `load_images`.

    Returns:
        The two `(images, labels)` pairs.
    """
    source = resolve(spec, cache_dir)
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
