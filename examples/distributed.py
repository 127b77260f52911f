"""Contrastive learning on every device found, with `tf.distribute`.

Trains a SimCLR-style `ContrastiveModel` (or MoCo v2, `--model moco`) on
scikit-learn's 8x8 handwritten digits (shipped with scikit-learn, no
download), views made inside the training step by a random resized crop,
under the strategy that fits the machine:

- several GPUs: `MirroredStrategy` over all of them;
- no GPU: the CPU split into `--cpu-devices` logical devices (default 2)
  and a `MirroredStrategy` over them, which runs the same code paths as
  several GPUs (collectives, cross-replica negatives, synchronised batch
  norm), only slower;
- `TF_CONFIG` set: `MultiWorkerMirroredStrategy` (start one process per
  worker, see docs/distributed.md);
- `--tpu NAME`: `TPUStrategy`.

It prints the strategy, the replica count, the per-replica and global
batch sizes, then the loss and the InfoNCE estimate (nats) per epoch, the
bound on held-out digits and a linear probe's accuracy on the learnt
representation. `--backup-dir` adds preemption-safe checkpoints
(`BackupAndRestore`), `--export` writes the encoder for TF Hub.

    python -m examples.distributed --quick              # a few steps, 2 CPUs
    python -m examples.distributed --cpu-devices 4 --model moco
    python -m examples.distributed --epochs 50 --export outputs/encoder
"""

import argparse
import json
import math
import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_infomin as kim  # noqa: E402


def split_cpu(count):
    """Splits the CPU into `count` logical devices if there is no GPU.

    Must run before TensorFlow initialises its devices; if it already has
    (a notebook, a test session), the existing devices are kept.
    """
    if count <= 1 or tf.config.list_physical_devices("GPU"):
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count
        )
    except RuntimeError:
        pass  # TensorFlow is already running: keep its devices.


def make_strategy(cpu_devices=2, tpu=None):
    """The strategy for this machine (see the module docstring)."""
    if tpu is not None:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    if "TF_CONFIG" in os.environ:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if tf.config.list_logical_devices("GPU"):
        return kim.distribute.get_strategy()  # all GPUs, or the default
    cpus = [d.name for d in tf.config.list_logical_devices("CPU")]
    if cpu_devices > 1 and len(cpus) > 1:
        return kim.distribute.get_strategy(cpus[:cpu_devices])
    return tf.distribute.get_strategy()


def task_index():
    """This worker's index in a multi-worker cluster (0 otherwise)."""
    config = json.loads(os.environ.get("TF_CONFIG", "{}"))
    return int(config.get("task", {}).get("index", 0))


def load_digits(seed=0, test_fraction=0.3):
    """sklearn's digits as [N, 8, 8, 1] images in [0, 1], split at random."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    images = (digits.images / 16.0).astype("float32")[..., None]
    order = np.random.default_rng(seed).permutation(len(images))
    cut = int(len(images) * (1 - test_fraction))
    train, test = order[:cut], order[cut:]
    return (images[train], digits.target[train]), (
        images[test],
        digits.target[test],
    )


def build_model(kind, replicas, global_batch, seed, queue_size):
    """A trainer whose views are random crops made inside the step.

    The crops draw their randomness with the replica id folded into the
    seed, so every replica augments differently. The projection head's
    batch norm is synchronised when there are several replicas, so that
    its statistics are those of the global batch.
    """
    crop = kim.views.RandomResizedCrop(8, 8, scale=(0.4, 1.0), seed=seed)
    view_layer = kim.views.Views(crop, num_views=2)
    encoder = kim.encoders.ConvNet(
        filters=(32, 64), kernel_size=3, output_dim=64
    )
    head = kim.models.ProjectionHead(
        (128,), 32, batch_norm=True, synchronized_bn=replicas > 1
    )
    if kind == "moco":
        return kim.models.MomentumContrast(
            encoder=encoder,
            projector=head,
            queue_size=max(queue_size, global_batch),
            momentum=0.99,
            temperature=0.2,
            view_layer=view_layer,
        )
    return kim.models.ContrastiveModel(
        encoder=encoder, projector=head, view_layer=view_layer
    )


def make_dataset(images, global_batch, seed, shuffle=True):
    """Batches of the global size; each replica receives its share.

    `drop_remainder=True` keeps every step's shapes static (required by
    `TPUStrategy`, and the replicas then hold equally many rows).
    """
    ds = tf.data.Dataset.from_tensor_slices(images)
    if shuffle:
        ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return (
        ds.batch(global_batch, drop_remainder=True)
        .with_options(options)
        .prefetch(tf.data.AUTOTUNE)
    )


def export_encoder(encoder, path, strategy):
    """Writes the encoder for TF Hub; under several workers, all save.

    Multi-worker saving must run on every worker (the variables may need
    collectives to be read); only the chief's copy lands at `path`.
    """
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        if task_index() != 0:
            path = os.path.join(tempfile.mkdtemp(), "encoder")
    return kim.export.export_hub(
        encoder, path, overwrite=True, input_signature=(None, 8, 8, 1)
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=("simclr", "moco"), default="simclr")
    parser.add_argument("--cpu-devices", type=int, default=2)
    parser.add_argument("--tpu", default=None)
    parser.add_argument("--batch-per-replica", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--queue-size", type=int, default=1024)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--backup-dir", default=None)
    parser.add_argument("--export", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=2)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one epoch of 3 small steps, no held-out evaluation",
    )
    args = parser.parse_args(argv)

    split_cpu(args.cpu_devices)
    strategy = make_strategy(args.cpu_devices, args.tpu)
    replicas = strategy.num_replicas_in_sync
    per_replica = 16 if args.quick else args.batch_per_replica
    global_batch = per_replica * replicas
    epochs = 1 if args.quick else args.epochs
    keras.utils.set_random_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = load_digits(args.seed)
    negatives = (
        f"queue of {max(args.queue_size, global_batch)} keys"
        if args.model == "moco"
        else f"{global_batch - 1} per anchor, gathered from all replicas"
    )
    print(f"strategy:     {type(strategy).__name__}")
    print(f"replicas:     {replicas}")
    print(f"batch:        {per_replica} per replica, {global_batch} global")
    print(f"negatives:    {negatives}")

    with strategy.scope():
        model = build_model(
            args.model, replicas, global_batch, args.seed, args.queue_size
        )
        model(x_train[:2])  # build in the scope (BackupAndRestore needs it)
        model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    callbacks = []
    if args.backup_dir:
        # One directory per worker: the callback is not multi-worker aware.
        path = os.path.join(args.backup_dir, f"worker_{task_index()}")
        callbacks.append(keras.callbacks.BackupAndRestore(path))
    history = model.fit(
        make_dataset(x_train, global_batch, args.seed),
        epochs=epochs,
        steps_per_epoch=3 if args.quick else None,
        callbacks=callbacks,
        shuffle=False,  # the dataset shuffles itself
        verbose=args.verbose,
    ).history
    test_logs = None
    if not args.quick:
        test_logs = model.evaluate(
            make_dataset(x_test, global_batch, args.seed, shuffle=False),
            verbose=0,
            return_dict=True,
        )
    encoder = model.encoder
    probe = kim.evaluation.linear_probe(
        encoder, (x_train, y_train), (x_test, y_test), method="sklearn"
    )
    for epoch, (loss, mi) in enumerate(zip(history["loss"], history["mi"])):
        print(f"epoch {epoch + 1}: loss {loss:.4f}  I_NCE {mi:.4f} nats")
    cap = history["mi_cap"][-1]
    print(f"I_NCE cap: {cap:.2f} nats = log {round(math.exp(cap))}")
    if test_logs is not None:
        print(
            f"held-out I_NCE: {test_logs['mi']:.4f} nats (inference mode, "
            "batch norm on its moving averages)"
        )
    print(f"linear probe accuracy on the representation: {probe:.3f}")
    exported = None
    if args.export:
        exported = export_encoder(encoder, args.export, strategy)
        print(f"encoder exported for TF Hub: {exported}")
    return {
        "strategy": type(strategy).__name__,
        "replicas": replicas,
        "batch_per_replica": per_replica,
        "global_batch": global_batch,
        "history": history,
        "test": test_logs,
        "probe": probe,
        "exported": exported,
    }


if __name__ == "__main__":
    main()
