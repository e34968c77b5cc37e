"""`python -m studies COMMAND ...`: build, audit and preview study bundles; analyse and plan reader studies."""

from __future__ import annotations

import argparse
import sys

from studies import commands
from studies.analysis import commands as analysis_commands
from studies.errors import StudyError


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run one sub-command and return its exit status."""
    parser = argparse.ArgumentParser(prog="python -m studies", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, command in {**commands.COMMANDS, **analysis_commands.COMMANDS}.items():
        command_parser = sub.add_parser(name, help=command.help, description=command.description)
        command.add_arguments(command_parser)
        command_parser.set_defaults(run=command.run)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except StudyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
