"""The `keras-infomin` command: the common jobs from a shell.

    keras-infomin pretrain DATA --method simclr --epochs 100 --out runs/a
    keras-infomin probe runs/a/model.keras DATA
    keras-infomin export runs/a/model.keras exported/a
    keras-infomin sweep DATA --knob crop-scale --values 0.08,0.2,0.5,0.8

DATA is an image folder (`class/image` or `split/class/image`), a
`.tar.gz` of one, or a tensorflow-datasets name. Each subcommand is one
module of this package exposing `NAME`, `HELP`, `add_arguments(parser)`
and `run(args)`; `--help` lists its options. Input errors print one line
on stderr and exit with status 1 (2 for bad options); `--debug` shows the
traceback instead.

Also run as `python -m keras_infomin.cli`.
"""

import argparse
import sys

from keras_infomin.cli import export
from keras_infomin.cli import pretrain
from keras_infomin.cli import probe
from keras_infomin.cli import sweep
from keras_infomin.cli.common import CLIError

PROG = "keras-infomin"

# The subcommands, in the order `--help` lists them. `estimate-mi X.npy
# Y.npy` (MI between two arrays through `keras_infomin.estimate_mi`) joins
# them as `cli/estimate_mi.py` with the MI toolkit.
COMMANDS = (pretrain, probe, export, sweep)


class _Parser(argparse.ArgumentParser):
    """Reports bad options in one line (argparse prints the usage too)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser():
    parser = _Parser(
        prog=PROG,
        description="Contrastive learning built on mutual information: "
        "pretrain, probe, export and sweep views from a shell.",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the full traceback of an error",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser
    )
    commands.required = True
    for command in COMMANDS:
        sub = commands.add_parser(
            command.NAME,
            help=command.HELP,
            description=command.__doc__.split("\n\n")[0],
        )
        command.add_arguments(sub)
        sub.set_defaults(run=command.run)
    return parser


def _one_line(error):
    text = " ".join(str(error).split())
    return text if len(text) <= 400 else text[:397] + "..."


def main(argv=None):
    """Runs the command line; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    except (CLIError, FileNotFoundError, ValueError, ImportError) as error:
        if args.debug:
            raise
        print(
            f"{PROG} {args.command}: error: {_one_line(error)}",
            file=sys.stderr,
        )
        return 1


def entry_point():
    """The console script: exits with `main`'s status."""
    sys.exit(main())
