"""Pretrain an encoder with SimCLR, MoCo v2 or InfoMin Aug, then probe it.

Writes into --out: `model.keras` (the trainer, reloadable with
`keras.saving.load_model` once keras_infomin is imported), `hub/` (the
representation as a TF Hub SavedModel, `export_hub`), `probe.json` and
`probe.png` (linear and kNN accuracy next to raw pixels, and the training
curve of I_NCE), `history.csv`.
"""

import csv
import os

from keras_infomin.cli import common
from keras_infomin.cli.export import export_representation

NAME = "pretrain"
HELP = "pretrain an encoder (SimCLR, MoCo v2, InfoMin Aug) and probe it"
METHODS = ("simclr", "moco", "infomin-aug")


def add_arguments(parser):
    parser.add_argument("data", metavar="DATA", help="folder, archive, tfds")
    parser.add_argument(
        "--method",
        choices=METHODS,
        default="simclr",
        help="SimCLR (in-batch negatives, SimCLR views), MoCo v2 (queue, "
        "momentum encoder, MoCo v2 views) or InfoMin Aug (MoCo with "
        "InfoMin's views and temperature 0.15); default %(default)s",
    )
    common.add_encoder_arguments(parser)
    common.add_training_arguments(parser, epochs=10, batch_size=256)
    parser.add_argument(
        "--embedding-dim",
        type=common.positive_int,
        default=128,
        help="projection head output (default %(default)s)",
    )
    parser.add_argument(
        "--queue-size",
        type=common.positive_int,
        default=4096,
        help="MoCo negatives (default %(default)s)",
    )
    common.add_data_arguments(parser, train_images=None, test_images=1000)
    parser.add_argument(
        "--probe-images",
        type=common.positive_int,
        default=2000,
        help="training images of the probes (default %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=0)
    common.add_run_arguments(parser, out="runs/pretrain")


def _quick(args):
    args.train_images = min(args.train_images or 64, 64)
    args.test_images = min(args.test_images, 32)
    args.probe_images = min(args.probe_images, 64)
    args.epochs = [1]
    args.batch_size = min(args.batch_size, 16)
    args.filters = [8, 16]
    args.embedding_dim = min(args.embedding_dim, 16)
    args.queue_size = min(args.queue_size, 64)


def build_model(args):
    """The trainer of `args.method` with a fresh encoder."""
    import keras

    from keras_infomin import models
    from keras_infomin import views

    size = args.image_size
    encoder = common.encoder_factory(args)()
    head = models.ProjectionHead((256,), args.embedding_dim)
    optimizer = keras.optimizers.Adam(args.learning_rate)
    if args.method == "simclr":
        model = models.ContrastiveModel(
            encoder=encoder,
            projector=head,
            view_layer=views.Views(views.SimCLRAugment(size)),
        )
    else:
        moco = args.method == "moco"
        recipe = views.MoCoV2Augment if moco else views.InfoMinAugment
        model = models.MomentumContrast(
            encoder=encoder,
            projector=head,
            queue_size=max(args.queue_size, args.batch_size),
            temperature=0.2 if moco else 0.15,
            view_layer=views.Views(recipe(size)),
        )
    model.compile(optimizer=optimizer)
    return model


def _training_data(args):
    """Arrays of --train-images, or the whole split streamed."""
    from keras_infomin import analysis
    from keras_infomin import data

    if args.train_images is not None:
        images, _ = common.load_data(args.data, args)[0]
        return images, args.batch_size
    try:
        source = analysis.resolve(args.data, args.cache_dir)
        stream = data.load(
            source,
            "train",
            batch_size=args.batch_size,
            image_size=args.image_size,
            shuffle=True,
            seed=args.seed,
            with_labels=False,
        )
    except (FileNotFoundError, ValueError) as error:
        raise common.CLIError(f"DATA: {error}") from None
    return stream, None


def plot(history, accuracies, path, title):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9.5, 3.6))
    epochs = range(1, len(history["mi"]) + 1)
    axes[0].plot(epochs, history["mi"], "o-", label="I_NCE (training)")
    if "mi_cap" in history:
        axes[0].plot(epochs, history["mi_cap"], "x:", color="gray", label="cap")
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("nats")
    axes[0].legend(fontsize=8)
    names = ["linear", f"kNN (k={accuracies['model']['k']})"]
    x = range(len(names))
    learned = [accuracies["model"]["linear"], accuracies["model"]["knn"]]
    pixels = [accuracies["pixels"]["linear"], accuracies["pixels"]["knn"]]
    axes[1].bar([i - 0.2 for i in x], learned, 0.4, label="pretrained")
    axes[1].bar([i + 0.2 for i in x], pixels, 0.4, label="raw pixels")
    axes[1].set_xticks(list(x))
    axes[1].set_xticklabels(names)
    axes[1].set_ylabel("held-out accuracy")
    axes[1].legend(fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run(args):
    import keras

    if args.quick:
        _quick(args)
    verbose = (0 if args.quick else 2) if args.verbose is None else args.verbose
    if len(args.epochs) != 1:
        raise common.CLIError("--epochs takes one number for pretrain")
    keras.utils.set_random_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    train, batch_size = _training_data(args)
    model = build_model(args)
    history = model.fit(
        train,
        batch_size=batch_size,
        epochs=args.epochs[0],
        verbose=common.FIT_VERBOSE[verbose],
    ).history
    path = os.path.join(args.out, "model.keras")
    model.save(path)
    export_representation(model, os.path.join(args.out, "hub"))
    probe_train, probe_test = common.load_data(
        args.data, args, train_images=args.probe_images, seed=args.seed + 1
    )
    accuracies = {
        "model": common.probe_accuracies(model, probe_train, probe_test),
        "pixels": common.probe_accuracies(None, probe_train, probe_test),
    }
    common.write_json(os.path.join(args.out, "probe.json"), accuracies)
    with open(os.path.join(args.out, "history.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["epoch"] + list(history))
        for i, row in enumerate(zip(*history.values())):
            writer.writerow([i + 1] + list(row))
    title = f"{args.method}, {args.encoder}, {args.epochs[0]} epochs"
    plot(history, accuracies, os.path.join(args.out, "probe.png"), title)
    print(
        f"linear probe {accuracies['model']['linear']:.3f}, kNN "
        f"{accuracies['model']['knn']:.3f} (raw pixels "
        f"{accuracies['pixels']['linear']:.3f}, "
        f"{accuracies['pixels']['knn']:.3f}); wrote {args.out}"
    )
    return 0
