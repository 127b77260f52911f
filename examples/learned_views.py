"""Learned views (InfoMin, Tian et al. 2020, Sec. 4) against colour splits.

InfoMin's claim: the best views share as little information as they can
while both keeping what the task needs. Its experiment on colour: split an
image's channels into two views (R | GB, Y | DbDr, L | ab, ...), or learn
the split with an invertible pixel-wise flow `g` on the colour channels
played against the encoders,

    min_g  max_{f1, f2}  I_NCE(f1(g(X)_1); f2(g(X)_2:3)),

without labels (unsupervised) or with classifiers on both views trained on
a fraction of the labels (semi-supervised). Every view family then goes
through the same stage 2: fresh encoders (one per view) trained with
InfoNCE on the frozen views, the I_NCE between the views measured by those
encoders on held-out images, and a linear probe (logistic regression) on
the concatenated features of both encoders.

Rows (`--configs`):

    rgb             raw split R | GB (= g at its identity start from RGB)
    ydbdr, lab      raw splits Y | DbDr and L | ab
    learned_rgb     unsupervised g from RGB; learned_ydbdr from YDbDr
    semi_rgb        semi-supervised g from RGB (`--label-fraction` of the
                    training labels); semi_ydbdr from YDbDr

each with `--seeds` seeds (the game is unstable: mean and spread are
reported). Writes `results.md` and `results.csv` (one row per configuration
and seed, plus the per-configuration summary in the Markdown) and the
information-plane plot `information_plane.png` (I_NCE between the views
against probe accuracy) under `--out`.

Data (`--data`): the CIFAR-10 JPEG copy of this workplace by default, a
folder of `split/class/image` files, a `.tar.gz` of one, or a
tensorflow-datasets name (`stl10`, needs internet or prepared data); a
random subset of `--train-images` training and `--test-images` test
images, resized to `--image-size`.

    python -m examples.learned_views              # default, ~30 min on 2 CPUs
    python -m examples.learned_views --quick      # smoke run, a minute
    python -m examples.learned_views --train-images 20000 --view-epochs 50 \\
        --game-epochs 40 --seeds 5 --encoder resnet   # larger (accelerator)
"""

import argparse
import csv
import json
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_infomin as kim  # noqa: E402

try:  # as a module (python -m examples.learned_views) or as a script
    from examples import _data  # noqa: E402
except ImportError:  # pragma: no cover - run from inside examples/
    import _data  # noqa: E402

tf.get_logger().setLevel("ERROR")  # probes retrace on a last short batch

# name: (kind, colour space, semi-supervised)
CONFIGS = {
    "rgb": ("split", "rgb", False),
    "ydbdr": ("split", "ydbdr", False),
    "lab": ("split", "lab", False),
    "learned_rgb": ("learned", "rgb", False),
    "learned_ydbdr": ("learned", "ydbdr", False),
    "semi_rgb": ("learned", "rgb", True),
    "semi_ydbdr": ("learned", "ydbdr", True),
}
DEFAULT_CONFIGS = "rgb,ydbdr,lab,learned_rgb,semi_rgb"
SPACE_NAMES = {"rgb": "RGB", "ydbdr": "YDbDr", "lab": "Lab"}
SPLIT_NAMES = {"rgb": "R | GB", "ydbdr": "Y | DbDr", "lab": "L | ab"}


def describe(config, args):
    """Human-readable name of a configuration."""
    kind, space, semi = CONFIGS[config]
    if kind == "split":
        return f"raw {SPLIT_NAMES[space]}"
    if semi:
        return (
            f"learned from {SPACE_NAMES[space]}, semi-sup. "
            f"({args.label_fraction:.0%} labels)"
        )
    return f"learned from {SPACE_NAMES[space]}, unsup."


# ------------------------------------------------------------------ models
def make_encoder(args):
    """One view's encoder: its pooled features are the representation."""
    if args.encoder == "convnet":
        return kim.encoders.ConvNet(
            filters=args.filters, kernel_size=3, output_dim=None
        )
    return kim.encoders.ResNetCIFAR(depth=18, width=args.resnet_width)


def make_projector(args):
    """Projection head (batch norm keeps early embeddings apart)."""
    return kim.models.ProjectionHead(
        (args.head_units,), args.embedding_dim, batch_norm=True
    )


def make_classifier(args, num_classes):
    """Per-view classifier of the semi-supervised game."""
    return kim.encoders.ConvNet(
        filters=args.filters[:2], kernel_size=3, output_dim=num_classes
    )


def make_augment(args):
    """Random crop and flip, applied before the views (shared by both)."""
    if not args.augment:
        return None
    size = args.image_size
    return kim.views.Compose(
        [
            kim.views.RandomResizedCrop(
                size, size, scale=(args.crop_scale, 1.0)
            ),
            kim.views.RandomHorizontalFlip(),
        ]
    )


def raw_split(space):
    """The fixed colour split of a raw configuration."""
    return kim.views.ChannelSplit(space, groups=((0,), (1, 2)))


def seed_for(config, seed):
    return 1000 * seed + sorted(CONFIGS).index(config)


# ------------------------------------------------------------------ stages
def learn_views(config, images, labels, num_classes, args, seed):
    """Stage 1: plays the InfoMin game; returns `g` and the last logs."""
    _, space, semi = CONFIGS[config]
    keras.utils.set_random_seed(seed_for(config, seed))
    flow = kim.encoders.RealNVP(
        args.couplings,
        (args.flow_units,),
        coupling=args.coupling,
        init_std=1e-3,
        seed=seed,
    )
    generator = kim.views.FlowViewGenerator(flow, input_space=space)
    classifiers = None
    fit_labels = None
    if semi:
        classifiers = [make_classifier(args, num_classes) for _ in range(2)]
        rng = np.random.default_rng(seed)
        known = rng.random(len(labels)) < args.label_fraction
        fit_labels = np.where(known, labels, -1).astype("int64")
    model = kim.models.InfoMinModel(
        generator,
        [make_encoder(args), make_encoder(args)],
        projectors=[make_projector(args), make_projector(args)],
        classifiers=classifiers,
        classification_weight=args.classification_weight,
        augment=make_augment(args),
    )
    model.compile(
        encoder_optimizer=keras.optimizers.Adam(args.learning_rate),
        generator_optimizer=keras.optimizers.Adam(args.generator_lr),
        run_eagerly=args.eager,
    )
    history = model.fit(
        images,
        fit_labels,
        batch_size=args.batch_size,
        epochs=args.game_epochs,
        verbose=args.verbose,
    )
    logs = {k: float(v[-1]) for k, v in history.history.items()}
    return kim.models.frozen_generator(model.generator), logs


def stage_two(view, train, test, args, seed):
    """Fresh encoders on fixed views: held-out I_NCE and probe accuracy.

    The same for every configuration: encoders, heads, critic, optimizer,
    epochs, augmentation and probe; only `view` (a frozen layer mapping RGB
    images to the two views) changes.
    """
    keras.utils.set_random_seed(seed)
    encoders = [make_encoder(args), make_encoder(args)]
    projectors = [make_projector(args), make_projector(args)]
    critic = kim.critics.InnerProduct(cosine=True, temperature=args.temperature)
    augment = make_augment(args)
    model = kim.models.ContrastiveModel(
        encoder=encoders,
        projector=projectors,
        critic=critic,
        view_layer=view
        if augment is None
        else kim.views.Compose([augment, view]),
    )
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        run_eagerly=args.eager,
    )
    model.fit(
        train[0],
        batch_size=args.batch_size,
        epochs=args.view_epochs,
        verbose=args.verbose,
    )
    # Probe and I_NCE on un-augmented views, same layers. The probe reads
    # the encoders' pooled features in inference mode, so it comes first:
    # the I_NCE pass runs the heads' batch norm on batch statistics.
    measure = kim.models.ContrastiveModel(
        encoder=encoders, projector=projectors, critic=critic, view_layer=view
    )
    accuracy = kim.evaluation.linear_probe(
        measure, train, test, method="sklearn", batch_size=256
    )
    mi, cap = held_out_mi(measure, test[0], args.batch_size)
    return mi, cap, float(accuracy)


def held_out_mi(model, images, batch_size):
    """Mean I_NCE between the views over the full held-out batches.

    The embeddings are computed as in training (`training=True`): the
    projection heads' batch norm normalises with each batch's statistics,
    as it did while the encoders learned (its moving averages, far from
    settled after a few hundred steps, would skew the scores). Only those
    moving averages change; the probe has already run.

    Returns:
        `(I_NCE, log(batch_size))`, in nats.
    """
    values = []
    for start in range(0, len(images) - batch_size + 1, batch_size):
        views = model.view_layer(images[start : start + batch_size])
        embeddings = [
            model.embed(v, k, training=True) for k, v in enumerate(views)
        ]
        values.append(float(model.contrastive_terms(embeddings)[1]))
    return float(np.mean(values)), math.log(batch_size)


# ------------------------------------------------------------------ output
SUMMARY_FIELDS = ["config", "views", "seeds", "mi_mean", "mi_std"]
SUMMARY_FIELDS += ["accuracy_mean", "accuracy_std"]


def summarise(rows, args):
    summary = []
    for config in args.configs:
        mine = [r for r in rows if r["config"] == config]
        if not mine:
            continue
        mi = np.array([r["mi_views"] for r in mine])
        acc = np.array([r["probe_accuracy"] for r in mine])
        summary.append(
            {
                "config": config,
                "views": mine[0]["views"],
                "seeds": len(mine),
                "mi_mean": float(mi.mean()),
                "mi_std": float(mi.std(ddof=1)) if len(mi) > 1 else 0.0,
                "accuracy_mean": float(acc.mean()),
                "accuracy_std": (
                    float(acc.std(ddof=1)) if len(acc) > 1 else 0.0
                ),
            }
        )
    return summary


ROW_FIELDS = ["config", "views", "seed", "mi_views", "mi_cap"]
ROW_FIELDS += ["probe_accuracy", "game_mi", "game_accuracy_1"]
ROW_FIELDS += ["game_accuracy_2", "seconds"]


def _fmt(value, spec):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return format(value, spec)


def write_tables(rows, summary, setting, args):
    with open(os.path.join(args.out, "results.csv"), "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=ROW_FIELDS)
        writer.writeheader()
        writer.writerows(rows)

    def md(text):
        return text.replace("|", "\\|")

    lines = [
        f"Learned views vs colour splits on {setting}.",
        "",
        "| views | seeds | I_NCE(v1; v2) held-out (nats) | linear probe |",
        "|---|---|---|---|",
    ]
    for s in summary:
        lines.append(
            f"| {md(s['views'])} | {s['seeds']} | {s['mi_mean']:.3f} "
            f"± {s['mi_std']:.3f} | {s['accuracy_mean']:.3f} "
            f"± {s['accuracy_std']:.3f} |"
        )
    lines += [
        "",
        "mean ± standard deviation over seeds; I_NCE capped at log(batch) "
        f"= {math.log(args.batch_size):.2f}.",
        "",
        "| views | seed | I_NCE | probe | game I_NCE (train) | "
        "game acc. c1 / c2 | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {md(r['views'])} | {r['seed']} | {r['mi_views']:.3f} | "
            f"{r['probe_accuracy']:.3f} | {_fmt(r['game_mi'], '.3f')} | "
            f"{_fmt(r['game_accuracy_1'], '.2f')} / "
            f"{_fmt(r['game_accuracy_2'], '.2f')} | {r['seconds']:.0f} |"
        )
    table = "\n".join(lines)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(table + "\n")
    return table


def plot(rows, summary, setting, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.6))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    markers = "osD^v<>"
    for i, s in enumerate(summary):
        colour, marker = colours[i % len(colours)], markers[i % len(markers)]
        mine = [r for r in rows if r["config"] == s["config"]]
        ax.scatter(
            [r["mi_views"] for r in mine],
            [r["probe_accuracy"] for r in mine],
            color=colour,
            marker=marker,
            alpha=0.35,
            s=22,
        )
        ax.errorbar(
            s["mi_mean"],
            s["accuracy_mean"],
            xerr=s["mi_std"],
            yerr=s["accuracy_std"],
            color=colour,
            marker=marker,
            markersize=8,
            capsize=3,
            label=s["views"],
        )
    ax.set_xlabel("I_NCE between the views, held-out (nats)")
    ax.set_ylabel("linear-probe accuracy")
    ax.set_title(f"Information plane: {setting}", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path = os.path.join(args.out, "information_plane.png")
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


# -------------------------------------------------------------------- main
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--data", default=None, help="folder, .tar.gz, tfds")
    parser.add_argument("--configs", default=DEFAULT_CONFIGS)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--train-images", type=int, default=2000)
    parser.add_argument("--test-images", type=int, default=1024)
    parser.add_argument("--image-size", type=int, default=32)
    parser.add_argument("--encoder", choices=("convnet", "resnet"))
    parser.add_argument("--filters", default="16,32,64")
    parser.add_argument("--resnet-width", type=int, default=16)
    parser.add_argument("--head-units", type=int, default=128)
    parser.add_argument("--embedding-dim", type=int, default=64)
    parser.add_argument("--temperature", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--view-epochs", type=int, default=10)
    parser.add_argument("--game-epochs", type=int, default=6)
    parser.add_argument("--generator-lr", type=float, default=1e-3)
    parser.add_argument("--classification-weight", type=float, default=5.0)
    parser.add_argument("--label-fraction", type=float, default=0.1)
    parser.add_argument("--coupling", choices=("additive", "affine"))
    parser.add_argument("--couplings", type=int, default=4)
    parser.add_argument("--flow-units", type=int, default=16)
    parser.add_argument("--crop-scale", type=float, default=0.3)
    parser.add_argument("--no-augment", dest="augment", action="store_false")
    parser.add_argument("--eager", action="store_true", help="run_eagerly")
    parser.add_argument("--out", default="outputs/learned_views")
    parser.add_argument("--verbose", type=int, default=None)
    args = parser.parse_args(argv)
    if args.quick:
        args.train_images = min(args.train_images, 128)
        args.test_images = min(args.test_images, 64)
        args.image_size = min(args.image_size, 16)
        args.batch_size = min(args.batch_size, 32)
        args.view_epochs = min(args.view_epochs, 1)
        args.game_epochs = min(args.game_epochs, 1)
        args.seeds = min(args.seeds, 2)
        args.filters = "8,16"
        args.head_units, args.embedding_dim = 16, 8
        args.eager = True
    args.encoder = args.encoder or "convnet"
    args.coupling = args.coupling or "additive"
    args.filters = [int(f) for f in str(args.filters).split(",")]
    args.configs = [c for c in args.configs.split(",") if c]
    unknown = [c for c in args.configs if c not in CONFIGS]
    if unknown:
        parser.error(f"unknown configs {unknown}; known: {list(CONFIGS)}")
    if not 0.0 < args.label_fraction <= 1.0:
        parser.error(
            f"--label-fraction must lie in (0, 1]; got {args.label_fraction}"
        )
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1; got {args.seeds}")
    if args.test_images < args.batch_size:
        parser.error(
            f"--test-images ({args.test_images}) must hold at least one "
            f"batch (--batch-size {args.batch_size})"
        )
    if args.verbose is None:
        args.verbose = 0 if args.quick else 2
    return args


def load(args):
    """Training and held-out images with labels, and a name for outputs."""
    spec = args.data or _data.default_data()
    if spec == _data.DEFAULT_ARCHIVE or spec.startswith(
        os.path.join(os.path.dirname(_data.DEFAULT_ARCHIVE), "cifar10-jpeg")
    ):
        setting = "CIFAR-10 (JPEG copy)"
    else:
        setting = os.path.basename(os.path.normpath(spec)) or spec
    train = _data.load_arrays(
        spec, "train", args.train_images, args.image_size, seed=0
    )
    test = _data.load_arrays(
        spec, "test", args.test_images, args.image_size, seed=1
    )
    setting += (
        f", {len(train[0])} train / {len(test[0])} held-out images at "
        f"{args.image_size}px"
    )
    return train, test, setting


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    start_all = time.time()
    train, test, setting = load(args)
    num_classes = int(max(train[1].max(), test[1].max())) + 1
    print(f"data: {setting}, {num_classes} classes")
    rows, histories = [], {}
    total = len(args.configs) * args.seeds
    for config in args.configs:
        kind, space, _ = CONFIGS[config]
        for seed in range(args.seeds):
            start = time.time()
            name = describe(config, args)
            print(
                f"[{len(rows) + 1}/{total}] {name}, seed {seed} "
                f"({time.time() - start_all:.0f} s so far)",
                flush=True,
            )
            game = {}
            if kind == "split":
                view = raw_split(space)
            else:
                view, game = learn_views(
                    config, train[0], train[1], num_classes, args, seed
                )
                histories[f"{config}/{seed}"] = game
                print(
                    "    game: "
                    + ", ".join(f"{k} {v:.3f}" for k, v in game.items()),
                    flush=True,
                )
            mi, cap, accuracy = stage_two(
                view, train, test, args, seed_for(config, seed) + 17
            )
            row = {
                "config": config,
                "views": name,
                "seed": seed,
                "mi_views": mi,
                "mi_cap": cap,
                "probe_accuracy": accuracy,
                "game_mi": game.get("mi", float("nan")),
                "game_accuracy_1": game.get("accuracy_1", float("nan")),
                "game_accuracy_2": game.get("accuracy_2", float("nan")),
                "seconds": time.time() - start,
            }
            rows.append(row)
            print(
                f"    I_NCE {mi:.3f} nats, probe {accuracy:.3f} "
                f"({row['seconds']:.0f} s)",
                flush=True,
            )
    summary = summarise(rows, args)
    table = write_tables(rows, summary, setting, args)
    with open(os.path.join(args.out, "games.json"), "w") as f:
        json.dump({"args": vars(args), "games": histories}, f, indent=1)
    print(table)
    print(f"plot: {plot(rows, summary, setting, args)}")
    print(f"tables: {os.path.join(args.out, 'results.md')} (and .csv)")
    print(f"total {time.time() - start_all:.0f} s")
    return rows


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
