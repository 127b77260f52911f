"""Sweep a family of views and find its sweet spot.

For each value of the knob (and each seed) a contrastive model trains at
the same budget; the held-out I_NCE between the views (a fresh critic) and
the probe accuracy are measured (`keras_infomin.analysis.sweep`). Writes
into --out: `runs.json` (finished runs: an interrupted sweep resumes
there, retraining nothing finished), `runs.csv`, `summary.csv`,
`summary.md`, `information_plane.png` and `knob.png`.
"""

from keras_infomin.cli import common

NAME = "sweep"
HELP = "sweep the views (crop scale, jitter, patch distance, colour space)"
KNOB_NAMES = ("crop-scale", "jitter", "patch-distance", "colour-space")


def add_sweep_options(
    parser,
    train_images=5000,
    test_images=2000,
    epochs=10,
    batch_size=128,
    embedding_dim=64,
    out="runs/sweep",
):
    """The options of a sweep apart from the data and the values."""
    common.add_data_arguments(parser, train_images, test_images)
    parser.add_argument(
        "--probe-train-images",
        type=common.positive_int,
        default=None,
        help="training images of the probe (default all)",
    )
    common.add_encoder_arguments(parser)
    common.add_training_arguments(parser, epochs, batch_size)
    parser.add_argument(
        "--embedding-dim",
        type=common.positive_int,
        default=embedding_dim,
        help="linear projection per view (default %(default)s)",
    )
    parser.add_argument(
        "--seeds",
        "--seed",
        type=common.int_list,
        default="0",
        help="seeds, e.g. 0,1,2 (default %(default)s)",
    )
    group = parser.add_argument_group("measures")
    group.add_argument(
        "--mi-steps",
        type=common.positive_int,
        default=200,
        help="training steps of the fresh critic (default %(default)s)",
    )
    group.add_argument(
        "--mi-batch-size",
        "--eval-batch-size",
        type=common.positive_int,
        default=None,
        help="batch of the held-out I_NCE, cap log batch (default: "
        "--batch-size)",
    )
    group.add_argument(
        "--probe",
        choices=("linear", "knn"),
        default="linear",
        help="default %(default)s",
    )
    group.add_argument(
        "--baseline",
        action="store_true",
        help="also probe untrained encoders",
    )
    common.add_run_arguments(parser, out)


def add_arguments(parser):
    parser.add_argument("data", metavar="DATA", help="folder, archive, tfds")
    parser.add_argument(
        "--knob", choices=KNOB_NAMES, required=True, help="what to vary"
    )
    parser.add_argument(
        "--values",
        required=True,
        help="comma-separated values, e.g. 0.08,0.2,0.5,0.8 or lab,ydbdr",
    )
    add_sweep_options(parser)


def quick(args):
    """Tiny sizes for smoke runs (`--quick`)."""
    args.train_images = min(args.train_images, 64)
    args.test_images = min(args.test_images, 32)
    args.epochs = [1]
    args.batch_size = min(args.batch_size, 16)
    args.mi_batch_size = 16
    args.mi_steps = min(args.mi_steps, 5)
    args.filters = [8, 16]
    args.embedding_dim = min(args.embedding_dim, 16)


def execute(args, knob=None, values=None, notes=(), **options):
    """Runs `analysis.sweep` with the parsed options; returns its result.

    Args:
        args: parsed options (`add_sweep_options`, plus `data`, and
            `knob` / `values` unless given here).
        knob: a `Knob` (default: the named `args.knob`).
        values: the values (default: parsed from `args.values`).
        notes: extra lines for the summary.
        **options: further `analysis.sweep` arguments (`features`,
            `probe_input`, `projector`, ...).
    """
    import keras

    from keras_infomin import analysis

    if args.quick:
        quick(args)
    verbose = (0 if args.quick else 2) if args.verbose is None else args.verbose
    if knob is None:
        knob = analysis.get_knob(args.knob, args.image_size)
    if values is None:
        values = analysis.parse_values(knob, args.values)
    data = common.load_data(args.data, args, seed=args.seeds[0])
    dim = args.embedding_dim
    options.setdefault("projector", lambda: keras.layers.Dense(dim))
    result = analysis.sweep(
        knob,
        values,
        data,
        encoder=common.encoder_factory(args),
        epochs=args.epochs,
        batch_size=args.batch_size,
        seeds=args.seeds,
        learning_rate=args.learning_rate,
        probe=args.probe,
        probe_train=args.probe_train_images,
        mi_steps=args.mi_steps,
        mi_batch_size=args.mi_batch_size,
        baseline=args.baseline,
        out=args.out,
        notes=notes,
        verbose=min(verbose, 2),
        **options,
    )
    print(result.table())
    print(f"wrote {', '.join(sorted(result.files.values()))}")
    return result


def run(args):
    execute(args)
    return 0
