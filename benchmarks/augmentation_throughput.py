"""Throughput of the augmentation presets inside a tf.data pipeline.

For each preset (SimCLR, MoCo v2, InfoMin) and output size (32 and 224),
measures images per second of

- batched: `dataset.batch(B).map(preset)`: one call per batch, random
  parameters drawn per sample as tensors (how the package is meant to be
  used), and
- per-image: `dataset.map(preset).batch(B)`: the same layers called on one
  unbatched image at a time (the usual torchvision-style pipeline),

both with `num_parallel_calls=AUTOTUNE` and prefetching, in the same run
on the same images. Source images are crops of scikit-learn's two sample
photos (32 x 32 sources for 32-pixel outputs, 256 x 256 for 224). The first
batches (tracing, warm-up) are not timed; each measurement is repeated and
the median reported, with the ratio batched / per-image.

Run:

    .venv/bin/python benchmarks/augmentation_throughput.py          # full
    .venv/bin/python benchmarks/augmentation_throughput.py --quick  # ~minutes
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_sample_images  # noqa: E402

from keras_infomin.views import InfoMinAugment  # noqa: E402
from keras_infomin.views import MoCoV2Augment  # noqa: E402
from keras_infomin.views import SimCLRAugment  # noqa: E402

PRESETS = {
    "SimCLR": SimCLRAugment,
    "MoCoV2": MoCoV2Augment,
    "InfoMin": InfoMinAugment,
}
SOURCE_SIZE = {32: 32, 224: 256}


def source_images(count, size, seed=0):
    """`count` random crops of the sample photos, resized to `size`."""
    rng = np.random.default_rng(seed)
    photos = [np.asarray(p) for p in load_sample_images().images]
    crops = []
    for _ in range(count):
        photo = photos[rng.integers(len(photos))]
        side = int(rng.integers(min(200, *photo.shape[:2]), 400))
        top = int(rng.integers(0, photo.shape[0] - side + 1))
        left = int(rng.integers(0, photo.shape[1] - side + 1))
        crops.append(photo[top : top + side, left : left + side])
    images = [
        tf.image.resize(c.astype("float32") / 255.0, (size, size)).numpy()
        for c in crops
    ]
    return np.clip(np.stack(images), 0.0, 1.0)


def pipeline(images, layer, batch_size, batched):
    ds = tf.data.Dataset.from_tensor_slices(images).repeat()
    if batched:
        ds = ds.batch(batch_size, drop_remainder=True)
        ds = ds.map(layer, num_parallel_calls=tf.data.AUTOTUNE)
    else:
        ds = ds.map(layer, num_parallel_calls=tf.data.AUTOTUNE)
        ds = ds.batch(batch_size, drop_remainder=True)
    return ds.prefetch(tf.data.AUTOTUNE)


def images_per_second(ds, batch_size, batches, warmup):
    iterator = iter(ds)
    for _ in range(warmup):
        next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return batches * batch_size / (time.perf_counter() - start)


def measure(name, size, args):
    batch_size = args.batch_size[size]
    images = source_images(args.images[size], SOURCE_SIZE[size])
    results = {}
    for batched in (True, False):
        layer = PRESETS[name](size, seed=1)
        ds = pipeline(images, layer, batch_size, batched)
        rates = []
        iterator_ds = ds
        for _ in range(args.repeats):
            rates.append(
                images_per_second(
                    iterator_ds, batch_size, args.batches[size], args.warmup
                )
            )
        results["batched" if batched else "per_image"] = statistics.median(
            rates
        )
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short run")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[32, 224], choices=[32, 224]
    )
    parser.add_argument("--presets", nargs="+", default=list(PRESETS))
    args = parser.parse_args()
    if args.quick:
        args.batch_size = {32: 128, 224: 16}
        args.batches = {32: 8, 224: 4}
        args.images = {32: 512, 224: 64}
        args.repeats = 3
        args.warmup = 2
    else:
        args.batch_size = {32: 256, 224: 32}
        args.batches = {32: 20, 224: 8}
        args.images = {32: 2048, 224: 256}
        args.repeats = 5
        args.warmup = 3
    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU cores, "
        f"repeats={args.repeats}, median images/s"
    )
    header = f"{'preset':8s} {'size':>4s} {'batched':>10s} {'per-image':>10s}"
    print(header + f" {'ratio':>7s}")
    for size in args.sizes:
        for name in args.presets:
            r = measure(name, size, args)
            ratio = r["batched"] / r["per_image"]
            print(
                f"{name:8s} {size:4d} {r['batched']:10.1f} "
                f"{r['per_image']:10.1f} {ratio:7.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
