"""What the subcommands share: options, encoders, data, models, probes.

Everything here is a thin layer over the public API; the options keep one
vocabulary across subcommands (and the view-study examples, which build
their parsers from these helpers).
"""

import argparse
import json
import os
import zipfile

ENCODERS = ("convnet", "resnet18", "resnet34", "resnet50")
# --verbose -> Keras' `fit(verbose=...)`: silent, a line per epoch, a bar.
FIT_VERBOSE = {0: 0, 1: 2, 2: 1}


class CLIError(Exception):
    """A problem with the user's input: reported as one line, no traceback."""


def int_list(text):
    """`"0,1,2"` -> `[0, 1, 2]` (an argparse type)."""
    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        )
    return value


def add_data_arguments(parser, train_images=5000, test_images=2000):
    group = parser.add_argument_group("data")
    group.add_argument(
        "--train-images",
        type=positive_int,
        default=train_images,
        help="training images drawn at random (default %(default)s)",
    )
    group.add_argument(
        "--test-images",
        type=positive_int,
        default=test_images,
        help="held-out images drawn at random (default %(default)s)",
    )
    group.add_argument(
        "--image-size",
        type=positive_int,
        default=32,
        help="side images are resized to (default %(default)s)",
    )
    group.add_argument(
        "--cache-dir",
        default=None,
        help="where archives are unpacked (default ~/.cache/keras_infomin)",
    )


def add_encoder_arguments(parser, encoder="convnet", filters="32,64,128"):
    group = parser.add_argument_group("encoder")
    group.add_argument(
        "--encoder",
        choices=ENCODERS,
        default=encoder,
        help="backbone (default %(default)s)",
    )
    group.add_argument(
        "--filters",
        type=int_list,
        default=filters,
        help="convnet filters per stage (default %(default)s)",
    )


def add_training_arguments(parser, epochs=10, batch_size=128, lr=1e-3):
    group = parser.add_argument_group("training")
    group.add_argument(
        "--epochs",
        type=int_list,
        default=str(epochs),
        help="epochs, or increasing budgets measured in one run, e.g. 5,10 "
        "(default %(default)s)",
    )
    group.add_argument(
        "--batch-size",
        type=positive_int,
        default=batch_size,
        help="default %(default)s",
    )
    group.add_argument(
        "--learning-rate",
        type=float,
        default=lr,
        help="Adam learning rate (default %(default)s)",
    )


def add_run_arguments(parser, out):
    parser.add_argument(
        "--out", default=out, help="output folder (default %(default)s)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run at tiny sizes"
    )
    parser.add_argument(
        "--verbose",
        type=int,
        choices=(0, 1, 2),
        default=None,
        help="0 silent, 1 progress lines, 2 also Keras' progress bars "
        "(default 2, 0 with --quick)",
    )


def encoder_factory(args):
    """A function returning a fresh encoder of `args.encoder`."""
    from keras_infomin import encoders

    if args.encoder == "convnet":
        filters = tuple(args.filters)
        return lambda: encoders.ConvNet(
            filters=filters, kernel_size=3, strides=2, output_dim=None
        )
    depth = int(args.encoder[len("resnet") :])
    return lambda: encoders.ResNetCIFAR(depth)


def load_data(spec, args, train_images=None, test_images=None, seed=0):
    """`((x, y), (x_test, y_test))` from a folder, archive or tfds name."""
    from keras_infomin import analysis

    try:
        return analysis.load_splits(
            spec,
            train_images or args.train_images,
            test_images or args.test_images,
            image_size=args.image_size,
            seed=seed,
            cache_dir=args.cache_dir,
        )
    except FileNotFoundError as error:
        raise CLIError(f"DATA: {error}") from None
    except ValueError as error:
        raise CLIError(f"DATA {spec!r}: {error}") from None


def load_model(path):
    """A Keras model from a `.keras` file, or a `CLIError` saying why not."""
    import keras

    import keras_infomin  # noqa: F401 - registers the package's classes

    if not os.path.exists(path):
        raise CLIError(f"MODEL {path!r} does not exist")
    if os.path.isdir(path) or not zipfile.is_zipfile(path):
        raise CLIError(
            f"MODEL {path!r} is not a Keras model file (a .keras archive "
            "written by `keras-infomin pretrain` or `model.save`)"
        )
    try:
        model = keras.saving.load_model(path)
    except Exception as error:  # noqa: BLE001 - reported in one line
        raise CLIError(
            f"MODEL {path!r} could not be loaded as a Keras model: {error}"
        ) from None
    if not isinstance(model, keras.Model):
        raise CLIError(
            f"MODEL {path!r} holds a {type(model).__name__}, not a model"
        )
    return model


def check_reads(model, images, path):
    """Raises `CLIError` unless the model turns `images` into features."""
    try:
        model(images[:2], training=False)
    except Exception as error:  # noqa: BLE001 - reported in one line
        raise CLIError(
            f"MODEL {path!r} cannot read images of shape "
            f"{tuple(images.shape[1:])} (set --image-size to the size it was "
            f"trained on): {error}"
        ) from None


def probe_accuracies(model, train, test, k=200):
    """Linear-probe and weighted-kNN accuracy of the model's features.

    Returns:
        dict with `linear` (scikit-learn logistic regression on MinMax
        scaled features), `knn` and `k` (neighbours, at most the training
        set).
    """
    from keras_infomin import evaluation

    k = min(k, len(train[0]))
    linear = evaluation.linear_probe(model, train, test)
    f_train, y_train = evaluation.extract_features(model, train)
    f_test, y_test = evaluation.extract_features(model, test)
    knn = evaluation.knn_accuracy(f_train, y_train, f_test, y_test, k=k)
    return {"linear": float(linear), "knn": float(knn), "k": k}


def write_json(path, payload):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(payload, f, indent=1)
    return path


class Stages:
    """A Keras progress bar over the stages of a short job."""

    def __init__(self, count, verbose=1):
        import keras

        self.done = 0
        self.bar = keras.utils.Progbar(
            count, unit_name="stage", verbose=1 if verbose else 0
        )

    def next(self):
        self.done += 1
        self.bar.update(self.done)
