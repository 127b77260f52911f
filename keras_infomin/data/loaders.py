"""`load`: tf.data pipelines of images (and views) from tfds or a folder.

One entry point for the image datasets of the examples and trainers:

    dataset = load("cifar10", "train", batch_size=256,
                   views=views.Views(views.InfoMinAugment(32)),
                   input_context=ctx)

Pipeline: read (tfds files or image files, sharded per input pipeline) ->
decode to float32 in [0, 1] (optionally resized, optionally converted to 1
or 3 channels) -> optional cache -> shuffle -> batch (per-replica size when
an `InputContext` is given) -> views applied to whole batches in a parallel
`map` -> prefetch. Elements are `(images, labels)`, or `(views, labels)`
where `views` is what the `views` layer returns (a tuple for `Views`).

Nothing is downloaded unless `download=True` (tfds names only). The loader
takes the view layer it applies and knows nothing of `keras_infomin.views`
(the data layer sits below it).
"""

import os

import tensorflow as tf

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
# Preset names `views` took before it took only layers, and the layer each
# one stood for.
_PRESET_NAMES = {
    "simclr": "SimCLRAugment",
    "mocov2": "MoCoV2Augment",
    "infomin": "InfoMinAugment",
}


def _is_folder(name):
    return os.path.isdir(os.path.expanduser(str(name)))


def _size_pair(image_size):
    if image_size is None:
        return None
    if isinstance(image_size, int) and not isinstance(image_size, bool):
        image_size = (image_size, image_size)
    ok = isinstance(image_size, (tuple, list)) and len(image_size) == 2
    ok = ok and all(
        isinstance(v, int) and not isinstance(v, bool) and v > 0
        for v in image_size
    )
    if not ok:
        raise ValueError(
            "`image_size` must be None, a positive int or a pair (height, "
            f"width); received image_size={image_size!r}."
        )
    return tuple(image_size)


def _check_views(views, image_size):
    """`views` must be None or a layer / callable on a batch of images."""
    if views is None or callable(views):
        return views
    size = "<image size>"
    if image_size is not None:
        square = image_size[0] == image_size[1]
        size = image_size[0] if square else tuple(image_size)
    preset = "SimCLRAugment"
    if isinstance(views, str):
        preset = _PRESET_NAMES.get(views.lower(), preset)
    raise ValueError(
        "`views` must be None or a layer (or callable) applied to each "
        "batch of images; preset names are not taken. For example "
        f"views=keras_infomin.views.Views(keras_infomin.views.{preset}"
        f"({size}), num_views=2). Received views={views!r}."
    )


def _to_float_image(image, image_size, channels):
    """uint8 (or float) image -> float32 in [0, 1], resized, channels."""
    image = tf.image.convert_image_dtype(image, tf.float32)
    if channels is not None:
        have = image.shape[-1]
        if have == 1 and channels == 3:
            image = tf.image.grayscale_to_rgb(image)
        elif have == 3 and channels == 1:
            image = tf.image.rgb_to_grayscale(image)
        elif have is not None and have != channels:
            raise ValueError(
                f"Cannot convert images with {have} channels to {channels}."
            )
    if image_size is not None:
        image = tf.image.resize(image, image_size, antialias=True)
        image = tf.clip_by_value(image, 0.0, 1.0)
    return image


def list_image_folder(path):
    """Files and integer labels of a `class/image.ext` folder.

    Returns:
        `(files, labels, class_names)`, classes sorted by name, files sorted
        within each class.
    """
    path = os.path.expanduser(str(path))
    class_names = sorted(
        d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d))
    )
    files, labels = [], []
    for label, name in enumerate(class_names):
        folder = os.path.join(path, name)
        for root, _, names in sorted(os.walk(folder)):
            for f in sorted(names):
                if f.lower().endswith(IMAGE_EXTENSIONS):
                    files.append(os.path.join(root, f))
                    labels.append(label)
    if not files:
        raise ValueError(
            f"No images ({', '.join(IMAGE_EXTENSIONS)}) found in class "
            f"sub-folders of {path!r}; expected the layout "
            "<path>/<class>/<image>."
        )
    return files, labels, class_names


def _folder_root(path, split):
    path = os.path.expanduser(str(path))
    if split is not None and os.path.isdir(os.path.join(path, split)):
        return os.path.join(path, split)
    subdirs = [
        d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d))
    ]
    if split is not None and {"train", "test", "val", "validation"} & set(
        subdirs
    ):
        raise ValueError(
            f"Split {split!r} not found in {path!r}; it has {sorted(subdirs)}."
        )
    return path


def _folder_dataset(
    path, split, input_context, shuffle, seed, image_size, channels
):
    root = _folder_root(path, split)
    files, labels, _ = list_image_folder(root)
    ds = tf.data.Dataset.from_tensor_slices(
        (tf.constant(files), tf.constant(labels, tf.int64))
    )
    if input_context is not None and input_context.num_input_pipelines > 1:
        ds = ds.shard(
            input_context.num_input_pipelines, input_context.input_pipeline_id
        )
    if shuffle:
        # Shuffle the (cheap) file names before decoding as well.
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    decode_channels = 3 if channels is None else channels

    def read(path, label):
        image = tf.io.decode_image(
            tf.io.read_file(path),
            channels=decode_channels,
            expand_animations=False,
        )
        image.set_shape([None, None, decode_channels])
        return _to_float_image(image, image_size, None), label

    return ds.map(read, num_parallel_calls=tf.data.AUTOTUNE)


def _tfds_dataset(
    name,
    split,
    input_context,
    shuffle,
    seed,
    data_dir,
    download,
    image_size,
    channels,
):
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except Exception as error:  # tfds raises its own DatasetNotFoundError.
        raise ValueError(
            f"{name!r} is neither a folder nor a tensorflow-datasets name "
            f"({error})."
        ) from error
    pipelines = (
        1 if input_context is None else input_context.num_input_pipelines
    )
    shard_files = False
    if pipelines > 1:
        try:
            shard_files = builder.info.splits[split].num_shards >= pipelines
        except Exception:  # splits unknown (not prepared, mocked, ...)
            shard_files = False
    read_config = tfds.ReadConfig(
        shuffle_seed=seed,
        input_context=input_context if shard_files else None,
    )
    supervised = builder.info.supervised_keys is not None
    try:
        ds = tfds.load(
            name,
            split=split,
            data_dir=data_dir,
            download=download,
            shuffle_files=shuffle,
            as_supervised=supervised,
            read_config=read_config,
        )
    except AssertionError as error:  # tfds: "could not find data in ..."
        raise ValueError(
            f"tensorflow-datasets has no prepared copy of {name!r} in "
            f"{data_dir or 'the default data_dir'}; pass download=True to "
            f"fetch it, or data_dir=... where it lives ({error})."
        ) from error
    if pipelines > 1 and not shard_files:
        ds = ds.shard(pipelines, input_context.input_pipeline_id)
    if not supervised:
        ds = ds.map(
            lambda ex: (ex["image"], tf.constant(-1, tf.int64)),
            num_parallel_calls=tf.data.AUTOTUNE,
        )

    def convert(image, label):
        return _to_float_image(image, image_size, channels), tf.cast(
            label, tf.int64
        )

    return ds.map(convert, num_parallel_calls=tf.data.AUTOTUNE)


def load(
    name,
    split="train",
    batch_size=256,
    views=None,
    image_size=None,
    shuffle=True,
    data_dir=None,
    input_context=None,
    channels=None,
    shuffle_buffer=10000,
    seed=None,
    drop_remainder=None,
    cache=False,
    download=False,
    with_labels=True,
    prefetch=True,
):
    """Builds a batched `tf.data` pipeline of images, or of their views.

    Args:
        name: a tensorflow-datasets name (`"mnist"`, `"cifar10"`,
            `"cifar100"`, `"stl10"`, `"imagenet2012"`, ...) or the path of a
            folder laid out as `class/image.jpg` (optionally with split
            sub-folders, `path/train/class/image.jpg`).
        split: tfds split (slicing such as `"train[:10%]"` allowed) or the
            split sub-folder; for a folder without split sub-folders it is
            ignored.
        batch_size: global batch size; with `input_context` each pipeline
            batches `input_context.get_per_replica_batch_size(batch_size)`.
        views: None, or a layer or callable applied to each batch of
            images (float32 in [0, 1]), e.g. `Views(InfoMinAugment(32))`
            of `keras_infomin.views` for two views per image.
        image_size: resize every image to this size (int or pair) when
            decoding (antialiased); None keeps the stored size (all images
            must then share one size to be batched).
        shuffle: shuffle files and examples (training); False gives the
            stored order.
        data_dir: tfds data directory.
        input_context: a `tf.distribute.InputContext` (from
            `strategy.distribute_datasets_from_function`): the data are
            sharded between input pipelines (by file when tfds has enough
            files, else by example) and batched per replica.
        channels: None keeps the channels; 1 or 3 converts (grey <-> RGB).
        shuffle_buffer: examples in the shuffle buffer.
        seed: shuffle seed.
        drop_remainder: drop the last partial batch; default `shuffle`
            (training pipelines keep a fixed batch size).
        cache: cache the decoded images in memory (before shuffling).
        download: allow tfds to download and prepare the data.
        with_labels: return `(x, labels)`; False returns `x` only.
        prefetch: prefetch batches (`tf.data.AUTOTUNE`).

    Returns:
        A `tf.data.Dataset`.

    Raises:
        ValueError: unknown name, data not prepared without `download`,
            empty or mis-laid-out folder, bad arguments.

    Example:

    ```python
    strategy = tf.distribute.MirroredStrategy()
    two_views = views.Views(views.InfoMinAugment(32))
    train = strategy.distribute_datasets_from_function(
        lambda ctx: load("cifar10", "train", batch_size=512,
                         views=two_views, input_context=ctx))
    ```
    """
    if (
        not isinstance(batch_size, int)
        or isinstance(batch_size, bool)
        or batch_size < 1
    ):
        raise ValueError(
            f"`batch_size` must be a positive int; received "
            f"batch_size={batch_size!r}."
        )
    if channels not in (None, 1, 3):
        raise ValueError(
            f"`channels` must be None, 1 or 3; received channels={channels!r}."
        )
    size = _size_pair(image_size)
    views = _check_views(views, size)
    if _is_folder(name):
        ds = _folder_dataset(
            name, split, input_context, shuffle, seed, size, channels
        )
    elif isinstance(name, str) and (os.sep in name or name.startswith(".")):
        raise ValueError(f"Folder {name!r} does not exist.")
    else:
        if not isinstance(split, str):
            raise ValueError(
                f"Loading the tensorflow-datasets {name!r} needs a split "
                f"name such as 'train'; received split={split!r}."
            )
        ds = _tfds_dataset(
            name,
            split,
            input_context,
            shuffle,
            seed,
            data_dir,
            download,
            size,
            channels,
        )
    if cache:
        ds = ds.cache()
    if shuffle:
        ds = ds.shuffle(
            shuffle_buffer, seed=seed, reshuffle_each_iteration=True
        )
    per_replica = batch_size
    if input_context is not None:
        per_replica = input_context.get_per_replica_batch_size(batch_size)
    if drop_remainder is None:
        drop_remainder = bool(shuffle)
    ds = ds.batch(per_replica, drop_remainder=drop_remainder)
    if views is not None:
        ds = ds.map(
            lambda x, y: (views(x), y), num_parallel_calls=tf.data.AUTOTUNE
        )
    if not with_labels:
        ds = ds.map(lambda x, y: x)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds
