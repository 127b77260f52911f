"""InfoMin's Colorful-Moving-MNIST study: what the views share is learned.

Tian et al. (2020, Sec. 3.1) paste digits on natural-image backgrounds and
build two views that share a chosen subset of three factors: the digit, its
position and the background. A contrastive representation keeps the shared
factors and drops the others, so a linear probe on it reads the digit only
when the views shared the digit, the position only when they shared the
position, and so on; with two shared factors, the one easier to pick up
tends to win.

For every choice of shared factors this script draws view pairs from
`keras_infomin.data.ColorfulMovingMNIST` (fresh pairs every epoch), trains a
`ContrastiveModel` with one small `ConvNet` shared by both views, and
reports

- I_NCE between the views on held-out pairs (nats, cap log batch),
- the linear-probe accuracy of the representation for each factor (digit
  class, position cell of a grid, background id), probe fit on images
  whose factors are drawn independently and measured on others,

next to randomly initialised encoders of the same shape (what the
architecture alone gives). Writes a Markdown and CSV table and a bar
chart.

    python examples/colorful_moving_mnist.py            # sklearn digits
    python examples/colorful_moving_mnist.py --quick    # a smoke run
    python examples/colorful_moving_mnist.py --source tfds --image-size 64 \
        --digit-size 28      # MNIST on STL-10 (needs both prepared)

The offline default uses scikit-learn's 8 x 8 digits (upscaled) on crops
of its two sample photos.
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

FACTORS = kim.data.colorful_moving_mnist.FACTORS
DEFAULT_CONFIGS = (
    "digit,position,background,digit+position,digit+background,"
    "position+background"
)
COLUMNS = [
    ("shared", "views share", ""),
    ("mi", "I_NCE (nats)", ".3f"),
    ("mi_cap", "cap", ".2f"),
    ("digit", "digit acc", ".3f"),
    ("position", "position acc", ".3f"),
    ("background", "background acc", ".3f"),
    ("train_seconds", "train s", ".0f"),
]


def build_model(args):
    model = kim.models.ContrastiveModel(
        encoder=kim.encoders.ConvNet(
            filters=args.filters, kernel_size=3, strides=2, output_dim=None
        ),
        projector=keras.layers.Dense(args.embedding_dim),
    )
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate))
    return model


def probe_sets(generator, args):
    """Images with independently drawn factors, and their factor labels."""
    out = []
    for n, offset in ((args.probe_train, 1), (args.probe_test, 2)):
        rng = np.random.default_rng(args.seed * 1000 + offset)
        factors = generator.sample_factors(n, rng)
        out.append((generator.render(factors), generator.labels(factors)))
    return out


def factor_accuracies(model, probes, args):
    """Linear-probe accuracy of `model`'s representation for each factor."""
    (x_train, labels_train), (x_test, labels_test) = probes
    f_train, _ = kim.evaluation.extract_features(model, x_train)
    f_test, _ = kim.evaluation.extract_features(model, x_test)
    return {
        factor: kim.evaluation.linear_probe(
            None,
            (f_train, labels_train[factor]),
            (f_test, labels_test[factor]),
            method=args.probe,
        )
        for factor in FACTORS
    }


def run_config(shared, generator, probes, args):
    keras.utils.set_random_seed(args.seed)  # same init for every choice
    model = build_model(args)
    start = time.time()
    for epoch in range(args.epochs):
        pairs = generator.view_pairs(
            args.pairs, shared=shared, seed=args.seed * 1000 + 10 + epoch
        )
        history = model.fit(
            (pairs["view1"], pairs["view2"]),
            batch_size=args.batch_size,
            epochs=1,
            shuffle=True,
            verbose=0,
        )
        if args.verbose:
            print(
                f"    epoch {epoch + 1}/{args.epochs}: I_NCE "
                f"{history.history['mi'][-1]:.3f} (train)",
                flush=True,
            )
    train_time = time.time() - start
    held_out = generator.view_pairs(
        args.test_pairs, shared=shared, seed=args.seed * 1000 + 3
    )
    usable = args.test_pairs // args.eval_batch_size * args.eval_batch_size
    logs = model.evaluate(
        (held_out["view1"][:usable], held_out["view2"][:usable]),
        batch_size=args.eval_batch_size,
        verbose=0,
        return_dict=True,
    )
    return {
        "shared": "+".join(shared),
        "mi": float(logs["mi"]),
        "mi_cap": math.log(args.eval_batch_size),
        **factor_accuracies(model, probes, args),
        "train_seconds": round(train_time, 1),
    }


def untrained_row(generator, probes, args):
    keras.utils.set_random_seed(args.seed)
    model = build_model(args)
    model(probes[0][0][:2])
    return {
        "shared": "untrained",
        "mi": None,
        "mi_cap": None,
        **factor_accuracies(model, probes, args),
        "train_seconds": 0.0,
    }


def plot(rows, chance, title, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(1.3 * len(rows) + 2.5, 3.8))
    width = 0.8 / len(FACTORS)
    colours = ("tab:blue", "tab:orange", "tab:green")
    positions = np.arange(len(rows))
    for k, factor in enumerate(FACTORS):
        values = [r[factor] for r in rows]
        ax.bar(
            positions + (k - 1) * width,
            values,
            width,
            label=factor,
            color=colours[k],
        )
        ax.hlines(
            chance[factor],
            positions[0] - 0.45,
            positions[-1] + 0.45,
            colors=colours[k],
            linestyles=":",
            linewidth=1,
        )
    ax.set_xticks(positions)
    ax.set_xticklabels(
        [r["shared"].replace("+", "\n+ ") for r in rows], fontsize=8
    )
    ax.set_xlabel("factors the two views share (dotted: chance)")
    ax.set_ylabel("linear probe accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, title="probed factor", title_fontsize=8)
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    path = os.path.join(out_dir, "factors.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument(
        "--configs",
        default=None,
        help="comma-separated shared-factor sets, factors joined by '+' "
        f"(default {DEFAULT_CONFIGS})",
    )
    parser.add_argument(
        "--source", default="sklearn", choices=["sklearn", "tfds"]
    )
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--digit-size", type=int, default=24)
    parser.add_argument("--num-backgrounds", type=int, default=64)
    parser.add_argument("--position-bins", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=4000, help="per epoch")
    parser.add_argument("--test-pairs", type=int, default=1024)
    parser.add_argument("--probe-train", type=int, default=3000)
    parser.add_argument("--probe-test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--eval-batch-size", type=int, default=None)
    parser.add_argument("--filters", default="32,64,128")
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--probe", default="sklearn", choices=["sklearn", "keras"]
    )
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="outputs/colorful_moving_mnist")
    parser.add_argument("--verbose", type=int, default=None)
    args = parser.parse_args(argv)
    if args.configs is None:
        args.configs = "digit,background" if args.quick else DEFAULT_CONFIGS
    if args.quick:
        args.image_size = min(args.image_size, 24)
        args.digit_size = min(args.digit_size, 16)
        args.num_backgrounds = min(args.num_backgrounds, 8)
        args.pairs = min(args.pairs, 64)
        args.test_pairs = min(args.test_pairs, 32)
        args.probe_train = min(args.probe_train, 64)
        args.probe_test = min(args.probe_test, 32)
        args.epochs = min(args.epochs, 1)
        args.batch_size = min(args.batch_size, 32)
        args.filters = "8,16"
        args.embedding_dim = min(args.embedding_dim, 16)
    configs = []
    for config in args.configs.split(","):
        shared = tuple(f for f in config.split("+") if f)
        unknown = [f for f in shared if f not in FACTORS]
        if unknown or not shared:
            parser.error(
                f"config {config!r}: factors must be among {FACTORS}, "
                "joined by '+'"
            )
        configs.append(shared)
    args.configs = configs
    args.filters = [int(f) for f in args.filters.split(",")]
    if args.eval_batch_size is None:
        args.eval_batch_size = args.batch_size
    args.eval_batch_size = min(args.eval_batch_size, args.test_pairs)
    if args.verbose is None:
        args.verbose = 0 if args.quick else 1
    return args


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    generator = kim.data.ColorfulMovingMNIST(
        image_size=args.image_size,
        digit_size=args.digit_size,
        source=args.source,
        num_backgrounds=args.num_backgrounds,
        position_bins=args.position_bins,
        seed=args.seed,
    )
    source = (
        "sklearn digits on sample-photo crops"
        if args.source == "sklearn"
        else "MNIST on STL-10"
    )
    print(
        f"Colorful-Moving-MNIST ({source}): {args.image_size} px images, "
        f"{args.digit_size} px digits, {args.num_backgrounds} backgrounds, "
        f"{args.position_bins}x{args.position_bins} position cells"
    )
    probes = probe_sets(generator, args)
    chance = {
        "digit": 1.0 / len(np.unique(generator.digit_labels)),
        "position": 1.0 / args.position_bins**2,
        "background": 1.0 / args.num_backgrounds,
    }
    rows = []
    if not args.no_baseline:
        print("[baseline] untrained encoder")
        rows.append(untrained_row(generator, probes, args))
    for i, shared in enumerate(args.configs):
        print(f"[{i + 1}/{len(args.configs)}] views share {'+'.join(shared)}")
        row = run_config(shared, generator, probes, args)
        rows.append(row)
        print(
            f"    I_NCE {row['mi']:.3f} nats; probe digit "
            f"{row['digit']:.3f}, position {row['position']:.3f}, "
            f"background {row['background']:.3f} "
            f"({row['train_seconds']:.0f} s)"
        )
    notes = [
        f"data: Colorful-Moving-MNIST, {source}; {args.pairs} fresh pairs "
        f"per epoch, {args.epochs} epochs, batch {args.batch_size}; I_NCE "
        f"on {args.test_pairs} held-out pairs; probes: {args.probe} "
        f"logistic regression, {args.probe_train} training / "
        f"{args.probe_test} test images with independent factors.",
        "chance: " + ", ".join(f"{k} {v:.3f}" for k, v in chance.items()) + ".",
    ]
    table = kim.analysis.write_table(rows, args.out, "results", COLUMNS, notes)
    print(table)
    title = f"Colorful-Moving-MNIST ({source})"
    print(f"plot: {plot(rows, chance, title, args.out)}")
    print(f"tables: {os.path.join(args.out, 'results.md')} (and .csv)")
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
