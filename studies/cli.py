"""The command line of `python -m studies`: the shape every sub-command has, and the parser that runs one."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Callable

from contracts.cli import ArgumentParser
from studies.errors import StudyError


@dataclass(frozen=True)
class Command:
    """One sub-command: its one-line help, longer description, argument set-up and runner (returns the exit status)."""

    help: str
    description: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The parser of `python -m studies` with every sub-command."""
    from studies import bundle_commands
    from studies.analysis import commands as analysis_commands

    parser = ArgumentParser(
        prog="python -m studies",
        description="Build, audit and preview study bundles; analyse and plan reader studies.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in {**bundle_commands.COMMANDS, **analysis_commands.COMMANDS}.items():
        command_parser = sub.add_parser(name, help=command.help, description=command.description)
        command.add_arguments(command_parser)
        command_parser.set_defaults(run=command.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run one sub-command and return its exit status (2 for a StudyError)."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except StudyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
