"""The mutual information between two arrays saved with numpy.

X.npy and Y.npy hold paired rows (`[N]`, `[N, d]` or images `[N, H, W,
C]`); `keras_infomin.estimate_mi` trains a critic on half of them and
reads the bound on the other half. Prints the estimate in nats and bits
and its interval over the held-out batches.
"""

import os

from keras_infomin.cli import common

NAME = "estimate-mi"
HELP = "estimate the MI between the rows of X.npy and Y.npy"


def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 < value < 1.0:
        import argparse

        raise argparse.ArgumentTypeError(
            f"expected a fraction in (0, 1), got {text!r}"
        )
    return value


def add_arguments(parser):
    from keras_infomin.evaluation import mutual_information

    parser.add_argument("x", metavar="X.npy", help="array of N rows")
    parser.add_argument("y", metavar="Y.npy", help="array of N paired rows")
    parser.add_argument(
        "--estimator",
        choices=mutual_information.ESTIMATORS,
        default="infonce",
        help="bound or classical estimator (default %(default)s)",
    )
    parser.add_argument(
        "--critic",
        default="separable",
        help="critic name: separable, conv, concat, bilinear, ... "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--preprocessing",
        choices=("copula", "standardize", "none"),
        default="copula",
        help="per-variable map applied first (default %(default)s)",
    )
    parser.add_argument(
        "--held-out",
        type=_fraction,
        default=mutual_information.DEFAULT_HELD_OUT,
        help="fraction held out (default %(default)s)",
    )
    parser.add_argument(
        "--batch-size",
        type=common.positive_int,
        default=None,
        help="training batch size (default: estimate_mi's, "
        f"{mutual_information.DEFAULT_BATCH_SIZE} or the training part)",
    )
    parser.add_argument(
        "--eval-batch-size",
        type=common.positive_int,
        default=None,
        help="pairs per held-out batch (default: estimate_mi's)",
    )
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--max-steps", type=common.positive_int, default=10_000)
    parser.add_argument(
        "--eval-every",
        type=common.positive_int,
        default=mutual_information.DEFAULT_EVAL_EVERY,
        help="steps between held-out readings (default %(default)s)",
    )
    parser.add_argument(
        "--patience",
        type=common.positive_int,
        default=mutual_information.DEFAULT_PATIENCE,
        help="readings without improvement before stopping "
        "(default %(default)s)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="split, weights and batches"
    )
    parser.add_argument(
        "--out", default=None, help="also write the result to this JSON"
    )
    parser.add_argument("--verbose", type=int, choices=(0, 1), default=1)


def _load(path, name):
    import numpy as np

    if not os.path.isfile(path):
        raise common.CLIError(f"{name} {path!r} does not exist")
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as error:  # noqa: BLE001 - reported in one line
        raise common.CLIError(
            f"{name} {path!r} is not a numpy .npy array: {error}"
        ) from None
    if not hasattr(array, "shape"):
        raise common.CLIError(
            f"{name} {path!r} holds several arrays (.npz); save one array "
            "per file with numpy.save"
        )
    return array


def run(args):
    from keras_infomin.evaluation import mutual_information

    x = _load(args.x, "X")
    y = _load(args.y, "Y")
    try:
        result = mutual_information.estimate_mi(
            x,
            y,
            estimator=args.estimator,
            critic=args.critic,
            preprocessing=None
            if args.preprocessing == "none"
            else args.preprocessing,
            held_out=args.held_out,
            batch_size=args.batch_size,
            eval_batch_size=args.eval_batch_size,
            learning_rate=args.learning_rate,
            max_steps=args.max_steps,
            eval_every=args.eval_every,
            patience=args.patience,
            seed=args.seed,
            verbose=args.verbose,
        )
    except TypeError as error:
        raise common.CLIError(str(error)) from None
    print(result)
    if args.out:
        common.write_json(
            args.out,
            {
                "estimator": result.estimator,
                "nats": result.value,
                "bits": result.bits,
                "interval": result.interval,
                "confidence": result.confidence,
                "stderr": result.stderr,
                "cap": result.cap,
                "steps": result.steps,
                "best_step": result.best_step,
                "n_train": result.n_train,
                "n_held_out": result.n_held_out,
                "history": list(result.history),
            },
        )
    return 0
