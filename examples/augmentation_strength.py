"""InfoMin's augmentation study: stronger views, lower I_NCE, better probes.

Tian et al. (2020, Sec. 4.2) make the two views of an image share less
information by augmenting them more strongly: their "InfoMin Aug" adds
RandAugment and stronger colour jitter to the SimCLR / MoCo v2 recipes.
The InfoNCE estimate between the views drops and, given enough training,
the linear-probe accuracy rises (the left, rising side of the reverse-U).

For every recipe (`MoCoV2Augment`, `SimCLRAugment`, `InfoMinAugment`; a
crop-and-flip-only reference with `--pipelines crop,...`) this script
trains a SimCLR-style `ContrastiveModel` (one small `ConvNet` shared by
both views, an MLP projection head, the cosine critic), the views drawn
inside the train step, at the same budget for every recipe. At each
checkpoint of `--epochs` (e.g. `5,10`: one run, measured after 5 and
after 10 epochs) it reports

- I_NCE between two views of held-out images, drawn with the recipe the
  model was trained on (nats, cap log batch),
- the linear-probe accuracy of the encoder on un-augmented images,

and writes a Markdown and CSV table and a plot of accuracy against I_NCE
(one trajectory per recipe across the checkpoints).

    python examples/augmentation_strength.py               # CIFAR-10 subset
    python examples/augmentation_strength.py --quick       # a smoke run
    python examples/augmentation_strength.py --train-images 50000 \
        --epochs 50,100,200 --filters 64,128,256       # longer budgets
"""

import argparse
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

import keras_infomin as kim  # noqa: E402

try:  # run as a script or imported as `examples.augmentation_strength`
    from examples import _data
    from examples import _study
except ImportError:  # pragma: no cover
    import _data
    import _study

PIPELINES = ("crop", "mocov2", "simclr", "infomin")
DEFAULT_PIPELINES = "mocov2,simclr,infomin"
COLUMNS = [
    ("pipeline", "views", ""),
    ("epochs", "epochs", "d"),
    ("mi", "I_NCE (nats)", ".3f"),
    ("mi_cap", "cap", ".2f"),
    ("accuracy", "probe accuracy", ".3f"),
    ("train_seconds", "train s", ".0f"),
]


def make_recipe(name, size, seed):
    if name == "crop":
        return kim.views.Compose(
            [
                kim.views.RandomResizedCrop(
                    size, size, scale=(0.2, 1.0), seed=seed
                ),
                kim.views.RandomHorizontalFlip(seed=seed + 1),
            ]
        )
    recipe = {
        "mocov2": kim.views.MoCoV2Augment,
        "simclr": kim.views.SimCLRAugment,
        "infomin": kim.views.InfoMinAugment,
    }[name]
    return recipe(size, seed=seed)


def build_model(name, args):
    model = kim.models.ContrastiveModel(
        encoder=kim.encoders.ConvNet(
            filters=args.filters, kernel_size=3, strides=2, output_dim=None
        ),
        projector=kim.models.ProjectionHead(
            (args.head_units,), args.embedding_dim
        ),
        view_layer=kim.views.Views(
            make_recipe(name, args.image_size, args.seed), num_views=2
        ),
    )
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    return model


def run_pipeline(name, data, args):
    """Trains once; measures at every checkpoint of `args.epochs`."""
    (x, y), (x_test, y_test) = data
    keras.utils.set_random_seed(args.seed)  # same init for every recipe
    model = build_model(name, args)
    rows, done, train_time = [], 0, 0.0
    for target in args.epochs:
        start = time.time()
        model.fit(
            x,
            batch_size=args.batch_size,
            epochs=target,
            initial_epoch=done,
            shuffle=True,
            verbose=args.verbose,
        )
        train_time += time.time() - start
        done = target
        mi = _study.held_out_mi(model, x_test, args.eval_batch_size)
        accuracy = kim.evaluation.linear_probe(
            model.encoders[0],
            (x[: args.probe_train_images], y[: args.probe_train_images]),
            (x_test, y_test),
            method=args.probe,
        )
        rows.append(
            {
                "pipeline": name,
                "epochs": target,
                "mi": mi,
                "mi_cap": math.log(args.eval_batch_size),
                "accuracy": accuracy,
                "train_seconds": round(train_time, 1),
            }
        )
        print(
            f"    after {target} epochs: I_NCE {mi:.3f} nats, probe "
            f"{accuracy:.3f} ({train_time:.0f} s)",
            flush=True,
        )
    return rows


def plot(rows, title, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.4, 4.0))
    names = list(dict.fromkeys(r["pipeline"] for r in rows))
    for name in names:
        own = [r for r in rows if r["pipeline"] == name]
        mi = [r["mi"] for r in own]
        acc = [r["accuracy"] for r in own]
        (line,) = ax.plot(mi, acc, "o-", label=name)
        for r in own:
            ax.annotate(
                f"{r['epochs']}",
                (r["mi"], r["accuracy"]),
                textcoords="offset points",
                xytext=(4, -10),
                fontsize=7,
                color=line.get_color(),
            )
    ax.set_xlabel("I_NCE between views, held out (nats)")
    ax.set_ylabel("linear probe accuracy")
    ax.legend(fontsize=8, title="views (numbers: epochs)", title_fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = os.path.join(out_dir, "augmentation_strength.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--data", default=None, help="folder, .tar.gz, tfds")
    parser.add_argument("--pipelines", default=None, help=f"among {PIPELINES}")
    parser.add_argument("--train-images", type=int, default=4000)
    parser.add_argument("--test-images", type=int, default=2000)
    parser.add_argument("--probe-train-images", type=int, default=None)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument(
        "--epochs", default="5,10", help="checkpoints of one run"
    )
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--eval-batch-size", type=int, default=None)
    parser.add_argument("--filters", default="32,64,128")
    parser.add_argument("--head-units", type=int, default=256)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--probe", default="sklearn", choices=["sklearn", "keras"]
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/augmentation_strength")
    parser.add_argument("--verbose", type=int, default=None)
    args = parser.parse_args(argv)
    if args.pipelines is None:
        args.pipelines = "mocov2,infomin" if args.quick else DEFAULT_PIPELINES
    if args.quick:
        args.train_images = min(args.train_images, 48)
        args.test_images = min(args.test_images, 24)
        args.epochs = "1"
        args.batch_size = min(args.batch_size, 16)
        args.filters = "8,16"
        args.head_units = min(args.head_units, 16)
        args.embedding_dim = min(args.embedding_dim, 16)
    args.data = args.data or _data.default_data()
    args.pipelines = args.pipelines.split(",")
    unknown = [p for p in args.pipelines if p not in PIPELINES]
    if unknown:
        parser.error(f"unknown pipelines {unknown}; known: {PIPELINES}")
    epochs = [int(e) for e in args.epochs.split(",")]
    if epochs != sorted(set(epochs)) or epochs[0] < 1:
        parser.error(f"--epochs must be increasing positive ints: {epochs}")
    args.epochs = epochs
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
    for i, name in enumerate(args.pipelines):
        print(f"[{i + 1}/{len(args.pipelines)}] {name} views")
        rows.extend(run_pipeline(name, data, args))
    last = [r for r in rows if r["epochs"] == args.epochs[-1]]
    by_mi = " > ".join(
        r["pipeline"] for r in sorted(last, key=lambda r: -r["mi"])
    )
    by_acc = " > ".join(
        r["pipeline"] for r in sorted(last, key=lambda r: -r["accuracy"])
    )
    notes = [
        f"data: {label}; {args.train_images} training images, batch "
        f"{args.batch_size}; I_NCE on {args.test_images} held-out images "
        f"in batches of {args.eval_batch_size}, views drawn with the "
        f"recipe trained on; probe: {args.probe} logistic regression on "
        "the encoder's features of un-augmented images.",
        f"after {args.epochs[-1]} epochs, I_NCE order: {by_mi}; "
        f"accuracy order: {by_acc}.",
    ]
    table = _study.write_tables(rows, COLUMNS, notes, args.out)
    print(table)
    title = f"augmentation recipes, {label}"
    print(f"plot: {plot(rows, title, args.out)}")
    print(f"tables: {os.path.join(args.out, 'results.md')} (and .csv)")
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
