"""The command line's entry point: one argparse subcommand per job."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from eventsourcing_kit.cli import _index, _migrate
from eventsourcing_kit.cli._logging import configure_logging
from eventsourcing_kit.errors import EventSourcingError

__all__ = ["build_parser", "main"]

# Each command module exposes register(subparsers), which sets `run` on its parser.
_COMMANDS = (_migrate, _index)


def build_parser() -> argparse.ArgumentParser:
    """The parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="eventsourcing-kit", description="Tools for eventsourcing-kit event stores."
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log debug lines")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    arguments = build_parser().parse_args(argv)
    configure_logging(verbose=arguments.verbose)
    try:
        status: int = arguments.run(arguments)
    except EventSourcingError as error:
        print(f"eventsourcing-kit: error: {error}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
