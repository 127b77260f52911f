"""InfoMin's spatial study: two patches of an image at growing distance.

Tian et al. (2020, Sec. 3.2) take two patches of the same image as the two
views and vary the distance between them. Close patches share much
information (identical ones, everything); far ones little. The InfoNCE
estimate of I(v1; v2) falls with the distance, while the downstream
accuracy rises, peaks at an intermediate distance and falls again: a
reverse-U, the paper's "sweet spot".

For every distance this script trains a `ContrastiveModel` whose view
layer is `PatchPair(patch_size, distance)` (a new random pair for every
image and step, no other augmentation: at distance 0 the views are
identical), one small `ConvNet` shared by both patches, a linear projection
and the cosine critic. It reports I_NCE between the patches on held-out
images and the linear-probe accuracy of the encoder, run on the whole image
(`--probe-input full`, the default; the global-average-pooled ConvNet takes
any size) or on its central patch (`--probe-input patch`). Writes a
Markdown and CSV table and a PNG (I_NCE and accuracy against distance,
accuracy against I_NCE).

    python examples/patch_distance.py                # CIFAR-10 subset
    python examples/patch_distance.py --quick        # a smoke run
    python examples/patch_distance.py --distances 0,4,8,12,16,20,22 \
        --train-images 20000 --epochs 30

On 32 x 32 images with 16-pixel patches the largest distance between the
top-left corners is sqrt(16^2 + 16^2) = 22.6 pixels.
"""

import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_infomin as kim  # noqa: E402

try:  # run as a script or imported as `examples.patch_distance`
    from examples import _data
    from examples import _study
except ImportError:  # pragma: no cover
    import _data
    import _study

DEFAULT_DISTANCES = "0,2,4,6,8,12,16,20"
COLUMNS = [
    ("distance", "distance (px)", "g"),
    ("mi", "I_NCE (nats)", ".3f"),
    ("mi_cap", "cap", ".2f"),
    ("accuracy", "probe accuracy", ".3f"),
    ("train_seconds", "train s", ".0f"),
]


def build_model(distance, args):
    model = kim.models.ContrastiveModel(
        encoder=kim.encoders.ConvNet(
            filters=args.filters, kernel_size=3, strides=2, output_dim=None
        ),
        projector=keras.layers.Dense(args.embedding_dim),
        view_layer=kim.views.PatchPair(
            args.patch_size, distance, direction="any", seed=args.seed
        ),
    )
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    return model


def probe_encoder(model, args):
    """What the probe reads: the encoder on whole images or centre patches."""
    encoder = model.encoders[0]
    if args.probe_input == "full":
        return encoder
    top = (args.image_size - args.patch_size) // 2
    bottom = top + args.patch_size

    def centre(x):
        return encoder(x[:, top:bottom, top:bottom, :], training=False)

    return centre


def run_distance(distance, data, args):
    (x, y), (x_test, y_test) = data
    keras.utils.set_random_seed(args.seed)  # same init for every distance
    model = build_model(distance, args)
    start = time.time()
    model.fit(
        x,
        batch_size=args.batch_size,
        epochs=args.epochs,
        shuffle=True,
        verbose=args.verbose,
    )
    train_time = time.time() - start
    mi = _study.held_out_mi(model, x_test, args.eval_batch_size)
    accuracy = kim.evaluation.linear_probe(
        probe_encoder(model, args),
        (x[: args.probe_train_images], y[: args.probe_train_images]),
        (x_test, y_test),
        method=args.probe,
    )
    return {
        "distance": distance,
        "mi": mi,
        "mi_cap": math.log(args.eval_batch_size),
        "accuracy": accuracy,
        "train_seconds": round(train_time, 1),
    }


def plot(rows, fits, title, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    d = np.array([r["distance"] for r in rows])
    mi = np.array([r["mi"] for r in rows])
    acc = np.array([r["accuracy"] for r in rows])
    fig, axes = plt.subplots(1, 3, figsize=(11.5, 3.5))
    axes[0].plot(d, mi, "o-", color="tab:blue")
    axes[0].axhline(rows[0]["mi_cap"], color="gray", ls=":", label="log N")
    axes[0].set_xlabel("patch distance (px)")
    axes[0].set_ylabel("I_NCE, held out (nats)")
    axes[0].legend(fontsize=7)
    axes[1].plot(d, acc, "o-", color="tab:red")
    axes[1].set_xlabel("patch distance (px)")
    axes[1].set_ylabel("linear probe accuracy")
    axes[2].scatter(mi, acc, color="tab:red", zorder=3)
    for r in rows:
        axes[2].annotate(
            f"d={r['distance']:g}",
            (r["mi"], r["accuracy"]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=7,
        )
    axes[2].set_xlabel("I_NCE (nats)")
    axes[2].set_ylabel("linear probe accuracy")
    for ax, xs, fit in ((axes[1], d, fits[0]), (axes[2], mi, fits[1])):
        if fit is not None:
            a, b, c, _ = fit
            grid = np.linspace(xs.min(), xs.max(), 100)
            ax.plot(grid, a * grid**2 + b * grid + c, color="gray", ls="--")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path = os.path.join(out_dir, "patch_distance.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--data", default=None, help="folder, .tar.gz, tfds")
    parser.add_argument("--distances", default=None, help=DEFAULT_DISTANCES)
    parser.add_argument("--patch-size", type=int, default=16)
    parser.add_argument("--train-images", type=int, default=5000)
    parser.add_argument("--test-images", type=int, default=2000)
    parser.add_argument("--probe-train-images", type=int, default=None)
    parser.add_argument(
        "--probe-input", default="full", choices=["full", "patch"]
    )
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--eval-batch-size", type=int, default=None)
    parser.add_argument("--filters", default="32,64,128")
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--probe", default="sklearn", choices=["sklearn", "keras"]
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/patch_distance")
    parser.add_argument("--verbose", type=int, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.train_images = min(args.train_images, 48)
        args.test_images = min(args.test_images, 24)
        args.epochs = min(args.epochs, 1)
        args.batch_size = min(args.batch_size, 16)
        args.filters = "8,16"
        args.embedding_dim = min(args.embedding_dim, 16)
    if args.distances is None:
        args.distances = "0,8" if args.quick else DEFAULT_DISTANCES
    args.data = args.data or _data.default_data()
    args.distances = [float(d) for d in args.distances.split(",")]
    args.filters = [int(f) for f in args.filters.split(",")]
    if args.probe_train_images is None:
        args.probe_train_images = args.train_images
    if args.eval_batch_size is None:
        args.eval_batch_size = args.batch_size
    args.eval_batch_size = min(args.eval_batch_size, args.test_images)
    limit = kim.views.patches.max_patch_distance(
        args.image_size, args.image_size, args.patch_size
    )
    too_far = [d for d in args.distances if d > limit]
    if too_far:
        parser.error(
            f"distances {too_far} exceed {limit:.1f} px, the largest for "
            f"{args.patch_size}-px patches of {args.image_size}-px images"
        )
    if args.verbose is None:
        args.verbose = 0 if args.quick else 2
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    label = _study.data_label(args.data)
    print(
        f"data: {label}, {args.train_images} training / "
        f"{args.test_images} held-out images of {args.image_size} px, "
        f"{args.patch_size}-px patches"
    )
    data = _study.load_splits(args)
    rows = []
    for i, distance in enumerate(args.distances):
        print(f"[{i + 1}/{len(args.distances)}] distance {distance:g} px")
        row = run_distance(distance, data, args)
        rows.append(row)
        print(
            f"    I_NCE {row['mi']:.3f} nats, probe {row['accuracy']:.3f} "
            f"({row['train_seconds']:.0f} s)"
        )
    d = [r["distance"] for r in rows]
    mi = [r["mi"] for r in rows]
    acc = [r["accuracy"] for r in rows]
    fits = (_study.reverse_u_fit(d, acc), _study.reverse_u_fit(mi, acc))
    best = rows[int(np.argmax(acc))]["distance"]
    notes = [
        f"data: {label}; {args.train_images} training images, "
        f"{args.epochs} epochs, batch {args.batch_size}; I_NCE on "
        f"{args.test_images} held-out images in batches of "
        f"{args.eval_batch_size}; probe: {args.probe} logistic regression "
        f"on the encoder's features of the {args.probe_input} image.",
        f"best accuracy at distance {best:g} px.",
        "accuracy vs distance: "
        + _study.describe_fit(fits[0], d, "distance", "px")
        + ".",
        "accuracy vs I_NCE: " + _study.describe_fit(fits[1], mi) + ".",
    ]
    table = _study.write_tables(rows, COLUMNS, notes, args.out)
    print(table)
    title = f"patch views ({args.patch_size} px), {label}"
    print(f"plot: {plot(rows, fits, title, args.out)}")
    print(f"tables: {os.path.join(args.out, 'results.md')} (and .csv)")
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
