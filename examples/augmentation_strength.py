"""InfoMin's augmentation study: stronger views, lower I_NCE, better probes.

Tian et al. (2020, Sec. 4.2) make the two views of an image share less
information by augmenting them more strongly: their "InfoMin Aug" adds
RandAugment and stronger colour jitter to the SimCLR / MoCo v2 recipes.
The InfoNCE estimate between the views drops and, given enough training,
the linear-probe accuracy rises (the left, rising side of the reverse-U).

A thin caller of `keras_infomin.analysis.sweep` whose knob is the recipe
(`MoCoV2Augment`, `SimCLRAugment`, `InfoMinAugment`; a crop-and-flip-only
reference with `--pipelines crop,...`): a SimCLR-style `ContrastiveModel`
(one small `ConvNet` shared by both views, an MLP projection head, the
cosine critic) trains at the same budget for every recipe, measured at
each checkpoint of `--epochs` (e.g. `5,10`: one run, measured after 5 and
after 10 epochs): the held-out I_NCE between the recipe's views (fresh
critic; and the trained model's own) and the linear-probe accuracy of the
encoder on un-augmented images. The information plane shows one
trajectory per recipe across the checkpoints.

    python examples/augmentation_strength.py               # CIFAR-10 subset
    python examples/augmentation_strength.py --quick       # a smoke run
    python examples/augmentation_strength.py --train-images 50000 \
        --epochs 50,100,200 --filters 64,128,256       # longer budgets
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras_infomin as kim  # noqa: E402
from keras_infomin.cli import sweep as sweep_cli  # noqa: E402

try:  # run as a script or imported as `examples.augmentation_strength`
    from examples import _data
except ImportError:  # pragma: no cover
    import _data

PIPELINES = ("crop", "mocov2", "simclr", "infomin")
DEFAULT_PIPELINES = "mocov2,simclr,infomin"


def recipes(image_size):
    """The knob: a recipe name -> two views drawn with that recipe."""
    views = kim.views

    def make(name):
        if name == "crop":
            recipe = views.Compose(
                [
                    views.RandomResizedCrop(
                        image_size, image_size, scale=(0.2, 1.0)
                    ),
                    views.RandomHorizontalFlip(),
                ]
            )
        elif name in PIPELINES:
            recipe = {
                "mocov2": views.MoCoV2Augment,
                "simclr": views.SimCLRAugment,
                "infomin": views.InfoMinAugment,
            }[name](image_size)
        else:
            raise ValueError(f"unknown pipeline {name!r}; known: {PIPELINES}")
        return views.Views(recipe, num_views=2)

    return kim.analysis.Knob("views", make, numeric=False)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="folder, .tar.gz, tfds")
    parser.add_argument(
        "--pipelines",
        default=None,
        help=f"among {PIPELINES} (default {DEFAULT_PIPELINES}; "
        "mocov2,infomin with --quick)",
    )
    parser.add_argument("--head-units", type=int, default=256)
    sweep_cli.add_sweep_options(
        parser, train_images=4000, out="outputs/augmentation_strength"
    )
    parser.set_defaults(cache_dir=_data.CACHE_DIR, epochs="5,10")
    args = parser.parse_args(argv)
    args.data = args.data or _data.default_data()
    quick = "mocov2,infomin" if args.quick else DEFAULT_PIPELINES
    args.values = args.pipelines or quick
    unknown = [p for p in args.values.split(",") if p not in PIPELINES]
    if unknown:
        parser.error(f"unknown pipelines {unknown}; known: {PIPELINES}")
    if args.quick:
        args.head_units = min(args.head_units, 16)
    return args


def main(argv=None):
    args = parse_args(argv)
    label = _data.data_label(args.data)
    units, dim = args.head_units, args.embedding_dim
    return sweep_cli.execute(
        args,
        knob=recipes(args.image_size),
        projector=lambda: kim.models.ProjectionHead((units,), dim),
        features="encoder",
        notes=[
            f"data: {label}; probe on the encoder's features of "
            "un-augmented images."
        ],
        title=f"augmentation recipes, {label}",
    )


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
