"""InfoMin's colour-space study: I_NCE between channel groups vs accuracy.

Tian et al. (2020, Sec. 4.1) split images into luminance and chrominance
in several colour spaces (L | ab, Y | CbCr, Y | DbDr, Y | IQ, Y | PbPr),
train one encoder per view with a contrastive loss (CMC), and plot the
linear-probe accuracy of the concatenated representation against the
InfoNCE estimate of I(v1; v2): a reverse-U ("information plane"), with
YDbDr and Lab near the sweet spot. RGB's R | GB serves as a reference.

A thin caller of `keras_infomin.analysis.sweep` with the `colour-space`
knob: for every space a `ContrastiveModel` with one small `ConvNet` per
view learns on views made inside the train step (the same random resized
crop and flip for both, then `ChannelSplit`); the sweep reports the
held-out I_NCE between the views (fresh critic), the linear-probe accuracy
of the concatenated representation, the information plane and the sweet
spot. Equivalent to `keras-infomin sweep DATA --knob colour-space`.

    python examples/colour_spaces.py                 # CIFAR-10 subset
    python examples/colour_spaces.py --quick         # a smoke run
    python examples/colour_spaces.py --train-images 20000 --epochs 40 \
        --spaces lab,ycbcr,ydbdr,yiq,ypbpr,luv,xyz,hsv,rgb --seeds 0,1,2

`--data` takes an image folder (`split/class/img`), a `.tar.gz` of one or a
tensorflow-datasets name; the default is the CIFAR-10 JPEG copy of this
workplace when present, else tfds `cifar10`.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras_infomin as kim  # noqa: E402
from keras_infomin.cli import sweep as sweep_cli  # noqa: E402

try:  # run as a script or imported as `examples.colour_spaces`
    from examples import _data
except ImportError:  # pragma: no cover
    import _data

DEFAULT_SPACES = "lab,ycbcr,ydbdr,yiq,ypbpr,rgb"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=None, help="folder, .tar.gz, tfds")
    parser.add_argument(
        "--spaces",
        default=None,
        help=f"among {', '.join(kim.analysis.COLOUR_SPLITS)} (default "
        f"{DEFAULT_SPACES}; lab,rgb with --quick)",
    )
    parser.add_argument(
        "--crop-scale", type=float, default=0.3, help="crop area lower bound"
    )
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the probe of untrained encoders",
    )
    sweep_cli.add_sweep_options(parser, out="outputs/colour_spaces")
    parser.set_defaults(cache_dir=_data.CACHE_DIR, baseline=True)
    args = parser.parse_args(argv)
    args.data = args.data or _data.default_data()
    args.values = args.spaces or ("lab,rgb" if args.quick else DEFAULT_SPACES)
    args.baseline = args.baseline and not args.quick
    return args


def main(argv=None):
    args = parse_args(argv)
    label = _data.data_label(args.data)
    return sweep_cli.execute(
        args,
        knob=kim.analysis.knobs.colour_space(args.image_size, args.crop_scale),
        notes=[f"data: {label}; one encoder per view, probe on both."],
        title=f"colour-space views, {label}",
    )


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
