"""Image archives (`.tar.gz`, `.tgz`, `.tar`) unpacked once into a cache.

`resolve(spec)` turns what a user gives as data (a folder, an archive of
one, or a tensorflow-datasets name) into what `load` reads: the folder, the
archive's unpacked folder, or the name unchanged.
"""

import os
import shutil
import tarfile

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
