"""InfoMin's colour-space study: I_NCE between channel groups vs accuracy.

Tian et al. (2020, Sec. 4.1) split images into luminance and chrominance
in several colour spaces (L | ab, Y | CbCr, Y | DbDr, Y | IQ, Y | PbPr),
train one encoder per view with a contrastive loss (CMC), and plot the
linear-probe accuracy of the concatenated representation against the
InfoNCE estimate of I(v1; v2): a reverse-U ("information plane"), with
YDbDr and Lab near the sweet spot. RGB's R | GB serves as a reference.

For every space this script trains a `ContrastiveModel` with one small
`ConvNet` per view; the view layer (inside the train step) is a light
augmentation (random resized crop, horizontal flip) followed by
`ChannelSplit`, so both views come from the same crop. It then reports

- I_NCE between the two views on held-out images (nats, cap log batch),
- the linear-probe accuracy of the concatenated representation (probe fit
  on the training images, accuracy on held-out images),

writes a Markdown and CSV table and plots accuracy against I_NCE, with a
least-squares parabola through the points as a rough reverse-U check.

    python examples/colour_spaces.py                 # CIFAR-10 subset
    python examples/colour_spaces.py --quick         # a smoke run
    python examples/colour_spaces.py --train-images 20000 --epochs 40 \
        --spaces lab,ycbcr,ydbdr,yiq,ypbpr,luv,xyz,hsv,rgb

`--data` takes an image folder (`split/class/img`), a `.tar.gz` of one or a
tensorflow-datasets name; the default is the CIFAR-10 JPEG copy of this
workplace when present, else tfds `cifar10`.
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

try:  # run as a script or imported as `examples.colour_spaces`
    from examples import _data
    from examples import _study
except ImportError:  # pragma: no cover
    import _data
    import _study

# name -> (colour space, channel groups, label in tables and plots)
SPACES = {
    "lab": ("lab", ((0,), (1, 2)), "L|ab"),
    "ycbcr": ("ycbcr", ((0,), (1, 2)), "Y|CbCr"),
    "ydbdr": ("ydbdr", ((0,), (1, 2)), "Y|DbDr"),
    "yiq": ("yiq", ((0,), (1, 2)), "Y|IQ"),
    "ypbpr": ("ypbpr", ((0,), (1, 2)), "Y|PbPr"),
    "luv": ("luv", ((0,), (1, 2)), "L|uv"),
    "xyz": ("xyz", ((1,), (0, 2)), "Y|XZ"),
    "hsv": ("hsv", ((2,), (0, 1)), "V|HS"),
    "rgb": ("rgb", ((0,), (1, 2)), "R|GB"),
}
DEFAULT_SPACES = "lab,ycbcr,ydbdr,yiq,ypbpr,rgb"


def make_encoder(args):
    return kim.encoders.ConvNet(
        filters=args.filters, kernel_size=3, strides=2, output_dim=None
    )


def build_model(name, args):
    space, groups, _ = SPACES[name]
    view_layer = kim.views.Compose(
        [
            kim.views.RandomResizedCrop(
                args.image_size,
                args.image_size,
                scale=(args.crop_scale, 1.0),
                seed=args.seed,
            ),
            kim.views.RandomHorizontalFlip(seed=args.seed + 1),
            kim.views.ChannelSplit(space, groups=groups),
        ]
    )
    model = kim.models.ContrastiveModel(
        encoder=[make_encoder(args), make_encoder(args)],
        projector=[
            keras.layers.Dense(args.embedding_dim),
            keras.layers.Dense(args.embedding_dim),
        ],
        view_layer=view_layer,
    )
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    return model


def run_space(name, data, args):
    (x, y), (x_test, y_test) = data
    keras.utils.set_random_seed(args.seed)  # same init for every space
    model = build_model(name, args)
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
        model,
        (x[: args.probe_train_images], y[: args.probe_train_images]),
        (x_test, y_test),
        method=args.probe,
    )
    return {
        "space": name,
        "views": SPACES[name][2],
        "mi": mi,
        "mi_cap": math.log(args.eval_batch_size),
        "accuracy": accuracy,
        "train_seconds": round(train_time, 1),
    }


def untrained_accuracy(data, args):
    """Probe of randomly initialised encoders (first space's split)."""
    (x, y), (x_test, y_test) = data
    keras.utils.set_random_seed(args.seed)
    model = build_model(args.spaces[0], args)
    model(x[:2])
    return kim.evaluation.linear_probe(
        model,
        (x[: args.probe_train_images], y[: args.probe_train_images]),
        (x_test, y_test),
        method=args.probe,
    )


COLUMNS = [
    ("space", "space", ""),
    ("views", "views", ""),
    ("mi", "I_NCE (nats)", ".3f"),
    ("mi_cap", "cap", ".2f"),
    ("accuracy", "probe accuracy", ".3f"),
    ("train_seconds", "train s", ".0f"),
]


def plot(rows, fit, title, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mi = [r["mi"] for r in rows]
    acc = [r["accuracy"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.2, 4.0))
    ax.scatter(mi, acc, color="tab:blue", zorder=3)
    for r in rows:
        ax.annotate(
            r["views"],
            (r["mi"], r["accuracy"]),
            textcoords="offset points",
            xytext=(4, 4),
            fontsize=8,
        )
    if fit is not None:
        grid = np.linspace(min(mi), max(mi), 100)
        a, b, c, _ = fit
        ax.plot(grid, a * grid**2 + b * grid + c, color="gray", ls="--")
    ax.set_xlabel("I_NCE between views, held out (nats)")
    ax.set_ylabel("linear probe accuracy")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = os.path.join(out_dir, "information_plane.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--data", default=None, help="folder, .tar.gz, tfds")
    parser.add_argument("--spaces", default=None, help=DEFAULT_SPACES)
    parser.add_argument("--train-images", type=int, default=5000)
    parser.add_argument("--test-images", type=int, default=2000)
    parser.add_argument(
        "--probe-train-images",
        type=int,
        default=None,
        help="probe training set (default: all training images)",
    )
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--eval-batch-size", type=int, default=None)
    parser.add_argument("--filters", default="32,64,128")
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--crop-scale", type=float, default=0.3)
    parser.add_argument(
        "--probe", default="sklearn", choices=["sklearn", "keras"]
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/colour_spaces")
    parser.add_argument("--verbose", type=int, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.train_images = min(args.train_images, 48)
        args.test_images = min(args.test_images, 24)
        args.epochs = min(args.epochs, 1)
        args.batch_size = min(args.batch_size, 16)
        args.filters = "8,16"
        args.embedding_dim = min(args.embedding_dim, 16)
        args.no_baseline = True
    if args.spaces is None:
        args.spaces = "lab,rgb" if args.quick else DEFAULT_SPACES
    args.data = args.data or _data.default_data()
    args.spaces = args.spaces.split(",")
    unknown = [s for s in args.spaces if s not in SPACES]
    if unknown:
        parser.error(f"unknown spaces {unknown}; known: {list(SPACES)}")
    args.filters = [int(f) for f in args.filters.split(",")]
    if args.probe_train_images is None:
        args.probe_train_images = args.train_images
    if args.eval_batch_size is None:
        args.eval_batch_size = args.batch_size
    args.eval_batch_size = min(args.eval_batch_size, args.test_images)
    if args.verbose is None:
        args.verbose = 0 if args.quick else 2
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    label = _study.data_label(args.data)
    print(
        f"data: {label}, {args.train_images} training / "
        f"{args.test_images} held-out images of {args.image_size} px"
    )
    data = _study.load_splits(args)
    rows = []
    for i, name in enumerate(args.spaces):
        print(f"[{i + 1}/{len(args.spaces)}] {name} ({SPACES[name][2]})")
        row = run_space(name, data, args)
        rows.append(row)
        print(
            f"    I_NCE {row['mi']:.3f} nats, probe {row['accuracy']:.3f} "
            f"({row['train_seconds']:.0f} s)"
        )
    mi = [r["mi"] for r in rows]
    fit = _study.reverse_u_fit(mi, [r["accuracy"] for r in rows])
    notes = [
        f"data: {label}; {args.train_images} training images, "
        f"{args.epochs} epochs, batch {args.batch_size}; I_NCE on "
        f"{args.test_images} held-out images in batches of "
        f"{args.eval_batch_size}; probe: {args.probe} logistic regression "
        "on the concatenated representation.",
        _study.describe_fit(fit, mi) + ".",
    ]
    if not args.no_baseline:
        base = untrained_accuracy(data, args)
        notes.append(
            f"untrained encoders ({args.spaces[0]}): probe {base:.3f}."
        )
    table = _study.write_tables(rows, COLUMNS, notes, args.out)
    print(table)
    title = f"colour-space views, {label}"
    print(f"plot: {plot(rows, fit, title, args.out)}")
    print(f"tables: {os.path.join(args.out, 'results.md')} (and .csv)")
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
