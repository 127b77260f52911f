"""InfoMin's spatial study: two patches of an image at growing distance.

Tian et al. (2020, Sec. 3.2) take two patches of the same image as the two
views and vary the distance between them. Close patches share much
information (identical ones, everything); far ones little. The InfoNCE
estimate of I(v1; v2) falls with the distance, while the downstream
accuracy rises, peaks at an intermediate distance and falls again: a
reverse-U, the paper's "sweet spot".

A thin caller of `keras_infomin.analysis.sweep` with the `patch-distance`
knob: for every distance a `ContrastiveModel` learns on `PatchPair(patch
size, distance)` views (a new random pair for every image and step; at
distance 0 the views are identical), one small `ConvNet` shared by both
patches. The probe reads the encoder on the whole image (`--probe-input
full`, the default; the pooled ConvNet takes any size) or on its central
patch (`--probe-input patch`). Writes the sweep's tables, the information
plane and I_NCE and accuracy against the distance.

    python examples/patch_distance.py                # CIFAR-10 subset
    python examples/patch_distance.py --quick        # a smoke run
    python examples/patch_distance.py --distances 0,4,8,12,16,20,22 \
        --train-images 20000 --epochs 30 --seeds 0,1,2

On 32 x 32 images with 16-pixel patches the largest distance between the
top-left corners is sqrt(16^2 + 16^2) = 22.6 pixels.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras_infomin as kim  # noqa: E402
from keras_infomin.cli import sweep as sweep_cli  # noqa: E402

try:  # run as a script or imported as `examples.patch_distance`
    from examples import _data
except ImportError:  # pragma: no cover
    import _data

DEFAULT_DISTANCES = "0,2,4,6,8,12,16,20"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="folder, .tar.gz, tfds")
    parser.add_argument(
        "--distances",
        default=None,
        help=f"pixels (default {DEFAULT_DISTANCES}; 0,8 with --quick)",
    )
    parser.add_argument("--patch-size", type=int, default=16)
    parser.add_argument(
        "--probe-input", default="full", choices=["full", "patch"]
    )
    sweep_cli.add_sweep_options(parser, out="outputs/patch_distance")
    parser.set_defaults(cache_dir=_data.CACHE_DIR)
    args = parser.parse_args(argv)
    args.data = args.data or _data.default_data()
    args.values = args.distances or ("0,8" if args.quick else DEFAULT_DISTANCES)
    return args


def centre_patch(args):
    """The images' central `patch_size` square (what `--probe-input patch`
    shows the encoder)."""
    top = (args.image_size - args.patch_size) // 2
    bottom = top + args.patch_size

    def crop(images):
        return images[:, top:bottom, top:bottom, :]

    return crop


def main(argv=None):
    args = parse_args(argv)
    label = _data.data_label(args.data)
    knob = kim.analysis.knobs.patch_distance(args.image_size, args.patch_size)
    return sweep_cli.execute(
        args,
        knob=knob,
        features="encoder",
        probe_input=centre_patch(args) if args.probe_input == "patch" else None,
        notes=[
            f"data: {label}; {args.patch_size}-px patches; probe on the "
            f"encoder's features of the {args.probe_input} image."
        ],
        title=f"patch views ({args.patch_size} px), {label}",
    )


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
