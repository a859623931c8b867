"""The command line's entry point: a click group with one command per job.

Every error a user can cause ends the process with one readable line on
stderr and a non-zero status, never a traceback (``--debug`` adds it).
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version

import click

from eventsourcing_kit.cli import (
    _export,
    _import,
    _index,
    _inspect,
    _migrate,
    _reindex,
    _subscriptions,
)
from eventsourcing_kit.cli._logging import configure_logging
from eventsourcing_kit.errors import EventSourcingError

__all__ = ["cli", "run"]

_PROG = "eventsourcing-kit"


def _version() -> str:
    try:
        return version("eventsourcing-kit")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "unknown"


@click.group(
    name=_PROG,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(_version(), "--version", prog_name=_PROG, message="%(prog)s %(version)s")
@click.option("--verbose", "-v", is_flag=True, help="Log the kit's debug lines on stderr.")
@click.option(
    "--debug", is_flag=True, expose_value=False, help="On an error, print the traceback too."
)
def cli(verbose: bool) -> None:
    """Look into and operate eventsourcing-kit event stores.

    Every command takes --url (default: the EVENTSOURCING_KIT_URL environment
    variable). Output is a table in a terminal, plain tab-separated lines when
    piped, and JSON with --json.
    """
    configure_logging(verbose=verbose)


for _command in (
    _migrate.migrate,
    _inspect.streams,
    _inspect.show,
    _inspect.tail,
    _subscriptions.subscriptions,
    _subscriptions.reset,
    _subscriptions.replay_parked,
    _export.export,
    _import.import_,
    _index.index,
    _reindex.reindex,
):
    cli.add_command(_command)


def run(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: sys.argv); return the exit status."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in arguments
    if not arguments:
        click.echo(cli.get_help(click.Context(cli, info_name=_PROG)))
        return 0
    try:
        result = cli.main(args=arguments, prog_name=_PROG, standalone_mode=False)
    except click.UsageError as error:  # a mistake in the command itself: status 2
        path = error.ctx.command_path if error.ctx is not None else _PROG
        click.echo(f"{_PROG}: error: {error.format_message()} (see '{path} --help')", err=True)
        return error.exit_code
    except click.ClickException as error:
        click.echo(f"{_PROG}: error: {error.format_message()}", err=True)
        return error.exit_code
    except click.Abort:  # a question answered no, or Ctrl-C
        click.echo("Aborted.", err=True)
        return 1
    except EventSourcingError as error:
        return _fail(error, debug=debug, message=_message(error))
    except OSError as error:
        return _fail(error, debug=debug, message=_os_message(error))
    except Exception as error:
        return _fail(
            error,
            debug=debug,
            message=(
                f"unexpected {type(error).__name__}: {' '.join(str(error).split())} "
                "(a bug: run again with --debug for the traceback, and report it)"
            ),
        )
    return result if isinstance(result, int) else 0


def _message(error: EventSourcingError) -> str:
    # One line: the notes an error carries go after it, joined.
    parts = [str(error), *getattr(error, "__notes__", ())]
    return " ".join(" ".join(part.split()) for part in parts if part)


def _os_message(error: OSError) -> str:
    reason = error.strerror or str(error)
    return f"{reason}: {error.filename!r}" if error.filename else reason


def _fail(error: BaseException, *, debug: bool, message: str) -> int:
    if debug:
        traceback.print_exception(error, file=sys.stderr)
    click.echo(f"{_PROG}: error: {message}", err=True)
    return 1
