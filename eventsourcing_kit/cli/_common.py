"""What every command shares: the store URL, output modes, opening a store.

Output has three modes, chosen once per command:

- a terminal (stdout is a TTY): rich tables, colours and progress bars;
- piped: plain lines, tab-separated where there are columns, no header, no
  colour, so that ``cut``, ``awk`` and ``grep`` work on them;
- ``--json``: one JSON object per line (JSON Lines) for listings, one object
  for a command's result, for scripts and ``jq``.

Messages about the work (progress, summaries, "following ...") go to
stderr, so that stdout holds only the data in every mode.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import click
import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from eventsourcing_kit.errors import ConfigurationError, EventSourcingError
from eventsourcing_kit.stores import EventStore, RecordedEvent, connect
from eventsourcing_kit.stores.driver import redact_url

__all__ = [
    "URL_ENV",
    "CommandError",
    "Output",
    "describe_url",
    "event_json",
    "open_store",
    "require_url",
    "run",
    "store_options",
]

URL_ENV = "EVENTSOURCING_KIT_URL"

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class CommandError(EventSourcingError):
    """A command cannot do what it was asked (an unknown stream, a refused reset)."""


def store_options() -> Callable[[F], F]:
    """``--url`` (default: env EVENTSOURCING_KIT_URL), ``--json`` and ``--debug``."""

    def decorate(function: F) -> F:
        function = click.option(
            "--debug",
            is_flag=True,
            expose_value=False,
            help="On an error, print the traceback too.",
        )(function)
        function = click.option(
            "--json",
            "as_json",
            is_flag=True,
            help="Print JSON (one object per line) instead of text.",
        )(function)
        return click.option(
            "--url",
            envvar=URL_ENV,
            show_envvar=True,
            metavar="URL",
            help=(
                "The store: sqlite:///path.db, postgresql://user@host:5432/db?schema=NAME, "
                "or any URL that eventsourcing_kit.connect() opens."
            ),
        )(function)

    return decorate


def require_url(url: str | None) -> str:
    """The URL given, or an error that says how to give one."""
    if not url:
        raise ConfigurationError(f"no store URL: pass --url URL or set {URL_ENV}")
    return url


@asynccontextmanager
async def open_store(url: str | None, *, create: bool = False) -> AsyncIterator[EventStore]:
    """The store at `url`, closed on exit.

    Reading commands never create storage: a SQLite file that does not
    exist is an error rather than a new empty store, and a PostgreSQL schema
    is not migrated (run ``migrate``). `create` (``import``) opens as an
    application would, creating and migrating. Any other URL is opened by
    `connect()` as it is, so a new backend needs no change here.
    """
    url = require_url(url)
    store: EventStore = await connect(url, **_connect_options(url, create=create))
    try:
        yield store
    finally:
        await store.close()


def _connect_options(url: str, *, create: bool) -> dict[str, Any]:
    # What open_store passes to connect() for a URL; checked before connecting.
    scheme = url.partition("://")[0].lower()
    options: dict[str, Any] = {}
    if scheme == "memory":
        raise ConfigurationError(
            "memory:// lives inside one process: the command line cannot open another "
            "process's memory store; use a sqlite:/// or postgresql:// URL"
        )
    if scheme == "sqlite" and not create:
        from eventsourcing_kit.stores.sqlite import path_from_url

        path = path_from_url(url)
        if not os.path.exists(path):
            raise ConfigurationError(
                f"no SQLite store at {path!r}: check the path (relative paths are from the "
                "current folder; sqlite:////abs/path.db is absolute), or create it with migrate"
            )
    elif scheme in ("postgresql", "postgres"):
        # A command line needs few connections; reading commands leave the
        # schema as it is (a typo in ?schema= is then an error, not a new schema).
        options = {"min_size": 1, "max_size": 4, "migrate": create}
    return options


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine to its end."""
    return asyncio.run(coroutine)


def describe_url(url: str) -> str:
    """`url` fit for a message: without its password."""
    return redact_url(url)


def event_json(event: RecordedEvent) -> dict[str, Any]:
    """An event as the JSON object ``show``, ``tail`` and ``--json`` print."""
    return {
        "stream_id": event.stream_id,
        "version": event.version,
        "event_type": event.event_type,
        "event_id": str(event.event_id),
        "recorded_at": event.recorded_at.isoformat(),
        "position": str(event.position),
        "global_position": event.global_position,
        "data": event.data,
        "metadata": event.metadata,
    }


class Output:
    """Where a command writes: a terminal, a pipe, or JSON (see the module docstring)."""

    def __init__(self, *, as_json: bool = False) -> None:
        self.as_json = as_json
        self.out = Console(soft_wrap=True, highlight=False)
        self.err = Console(stderr=True, soft_wrap=True, highlight=False)

    @property
    def rich(self) -> bool:
        """True when stdout is a terminal and no JSON was asked for."""
        return not self.as_json and self.out.is_terminal

    @property
    def progress(self) -> bool:
        """True when stderr is a terminal: progress bars may be drawn there."""
        return self.err.is_terminal

    def json(self, value: Any) -> None:
        """One JSON object on a line of its own."""
        self.out.file.write(orjson.dumps(value, default=str).decode() + "\n")
        self.out.file.flush()

    def line(self, text: str) -> None:
        """A plain line on stdout, never marked up (flushed: a reader may be waiting for it)."""
        self.out.file.write(text + "\n")
        self.out.file.flush()

    def note(self, text: str) -> None:
        """A message about the work, on stderr (markup allowed in a terminal)."""
        if self.err.is_terminal:
            self.err.print(text)
        else:
            self.err.file.write(_strip_markup(text) + "\n")
            self.err.file.flush()

    def table(
        self,
        columns: Sequence[str],
        rows: Iterable[Sequence[object]],
        *,
        caption: str | None = None,
        right: Iterable[str] = (),
    ) -> None:
        """Rows as a rich table in a terminal, else as tab-separated lines."""
        if not self.rich:
            for row in rows:
                self.line("\t".join("" if cell is None else str(cell) for cell in row))
            return
        aligned = set(right)
        table = Table(caption=caption, box=None, header_style="bold", pad_edge=False)
        for column in columns:
            table.add_column(column, justify="right" if column in aligned else "left")
        for row in rows:
            table.add_row(*("" if cell is None else escape(str(cell)) for cell in row))
        self.out.print(table)


def _strip_markup(text: str) -> str:
    return Text.from_markup(text).plain
