"""Export a model's representation as a TF Hub SavedModel.

The SavedModel (`keras_infomin.export.export_hub`) holds what the probes
read, `model(images)`: `hub.KerasLayer(DIR, trainable=True)` fine-tunes
it, `keras.layers.TFSMLayer(DIR)` runs it in Keras 3, TF Serving serves
its `serving_default` signature.
"""

from keras_infomin.cli import common

NAME = "export"
HELP = "export a .keras model's representation for TF Hub / Serving"


def add_arguments(parser):
    parser.add_argument("model", metavar="MODEL", help="a .keras file")
    parser.add_argument("directory", metavar="DIR", help="export folder")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing SavedModel at DIR",
    )
    parser.add_argument("--verbose", type=int, choices=(0, 1), default=1)


def export_representation(model, directory, overwrite=False):
    """`export_hub` of `model` (its `call`: the representation)."""
    from keras_infomin import export

    try:
        return export.export_hub(model, directory, overwrite=overwrite)
    except FileExistsError as error:
        raise common.CLIError(f"DIR: {error}") from None


def run(args):
    stages = common.Stages(2, args.verbose)
    model = common.load_model(args.model)
    stages.next()
    path = export_representation(model, args.directory, args.overwrite)
    stages.next()
    print(f"exported {args.model} to {path}")
    return 0
