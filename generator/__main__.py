"""`python -m generator COMMAND ...`: data, report encoder, diffusion training and sampling, evaluation."""

from __future__ import annotations

import argparse
import sys

from contracts.cli import ArgumentParser
from generator import model_commands
from generator.data import commands as data_commands
from generator.metrics import commands as metrics_commands
from generator.text import commands as text_commands

COMMAND_GROUPS = (data_commands, text_commands, model_commands, metrics_commands)


def build_parser() -> argparse.ArgumentParser:
    """The parser of `python -m generator` with every sub-command."""
    parser = ArgumentParser(prog="python -m generator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in COMMAND_GROUPS:
        group.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run one sub-command and return its exit status."""
    args = build_parser().parse_args(argv)
    return int(args.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
