"""Looking into a store: ``streams``, ``show STREAM`` and ``tail``."""

from __future__ import annotations

from collections.abc import AsyncIterator

import click
import orjson
from rich.json import JSON
from rich.markup import escape

from eventsourcing_kit.cli._common import (
    CommandError,
    Output,
    describe_url,
    event_json,
    open_store,
    require_url,
    run,
    store_options,
)
from eventsourcing_kit.stores import EventStore, Position, RecordedEvent

__all__ = ["show", "streams", "tail"]


# --- streams -------------------------------------------------------------------------


@click.command()
@store_options()
@click.option("--category", "-c", metavar="NAME", help="Only the streams of this category.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="List at most N streams.")
def streams(url: str | None, as_json: bool, category: str | None, limit: int | None) -> None:
    """List the streams, each with its version (its number of events).

    Piped, one line per stream: the stream id, its category and its version,
    separated by tabs.
    """
    run(_streams(url, Output(as_json=as_json), category, limit))


async def _streams(
    url: str | None, output: Output, category: str | None, limit: int | None
) -> None:
    count = events = 0
    rows: list[tuple[str, str, int]] = []
    async with open_store(url) as store:
        async for stream in store.list_streams(category=category):
            if limit is not None and count >= limit:
                break
            count += 1
            events += stream.version
            if output.as_json:
                output.json(
                    {
                        "stream_id": stream.stream_id,
                        "category": stream.category,
                        "version": stream.version,
                    }
                )
            elif output.rich:
                rows.append((stream.stream_id, stream.category, stream.version))
            else:
                output.line(f"{stream.stream_id}\t{stream.category}\t{stream.version}")
    if output.rich:
        noun = "stream" if count == 1 else "streams"
        shown = f"the first {count}" if limit is not None and count == limit else f"{count}"
        output.table(
            ("stream", "category", "version"),
            rows,
            caption=f"{shown} {noun}, {events} events",
            right=("version",),
        )


# --- show ------------------------------------------------------------------------------


@click.command()
@store_options()
@click.argument("stream_id")
@click.option(
    "--from-version",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Start at this version (inclusive).",
)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Show at most N events.")
def show(
    url: str | None, as_json: bool, stream_id: str, from_version: int, limit: int | None
) -> None:
    """Show the events of STREAM_ID, oldest first, with their data as pretty JSON.

    Piped, each event is one pretty-printed JSON object; with --json, one
    compact object per line.
    """
    run(_show(url, Output(as_json=as_json), stream_id, from_version, limit))


async def _show(
    url: str | None, output: Output, stream_id: str, from_version: int, limit: int | None
) -> None:
    async with open_store(url) as store:
        version = await store.stream_version(stream_id)
        if version == 0:
            raise CommandError(
                f"stream {stream_id!r} not found: it has no events (list the streams with "
                "'eventsourcing-kit streams')"
            )
        if from_version > version:
            output.note(f"stream {stream_id!r} ends at version {version}: nothing to show")
            return
        shown = 0
        async for event in store.read_stream(stream_id, from_version=from_version):
            _show_event(output, event)
            shown += 1
            if limit is not None and shown >= limit:
                break


def _show_event(output: Output, event: RecordedEvent) -> None:
    if output.as_json:
        output.json(event_json(event))
    elif output.rich:
        output.out.print(
            f"[bold]{escape(event.stream_id)}[/] [bold magenta]v{event.version}[/] "
            f"[cyan]{escape(event.event_type)}[/]  [dim]{event.recorded_at.isoformat()}  "
            f"id {event.event_id}  position {event.position}[/]"
        )
        output.out.print(JSON.from_data(event.data, indent=2))
        if event.metadata:
            output.out.print("[dim]metadata[/]", JSON.from_data(event.metadata, indent=2))
        output.out.print()
    else:
        output.line(orjson.dumps(event_json(event), option=orjson.OPT_INDENT_2).decode())


# --- tail --------------------------------------------------------------------------------


@click.command()
@store_options()
@click.option("--category", "-c", metavar="NAME", help="Only the events of this category.")
@click.option(
    "--type",
    "-t",
    "event_types",
    multiple=True,
    metavar="TYPE",
    help="Only events of this type (repeat it for several).",
)
@click.option("--from-start", is_flag=True, help="Print the whole log first, then follow it.")
@click.option(
    "--from-position",
    metavar="POSITION",
    help="Start after this position (as another command printed it).",
)
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="Stop after N events.")
@click.option(
    "--poll",
    type=click.FloatRange(min=0.01),
    default=1.0,
    show_default=True,
    metavar="SECONDS",
    help="Look for new events at least this often (appends of other processes on SQLite).",
)
def tail(
    url: str | None,
    as_json: bool,
    category: str | None,
    event_types: tuple[str, ...],
    from_start: bool,
    from_position: str | None,
    limit: int | None,
    poll: float,
) -> None:
    """Follow the global order live: print each new event as it is stored.

    Starts at the head (only new events) unless --from-start or
    --from-position; runs until Ctrl-C or --limit. Piped, one line per event:
    position, stream id, version, event type and data as JSON, tab-separated.
    """
    if from_start and from_position is not None:
        raise click.UsageError("give --from-start or --from-position, not both")
    output = Output(as_json=as_json)
    follow = _Follow(output, category, event_types or None, limit, poll)
    try:
        run(follow.run(url, from_start=from_start, from_position=from_position))
    except KeyboardInterrupt:
        output.note(f"stopped after {follow.count} events")


class _Follow:
    def __init__(
        self,
        output: Output,
        category: str | None,
        event_types: tuple[str, ...] | None,
        limit: int | None,
        poll: float,
    ) -> None:
        self.output = output
        self.category = category
        self.event_types = event_types
        self.limit = limit
        self.poll = poll
        self.count = 0

    async def run(self, url: str | None, *, from_start: bool, from_position: str | None) -> None:
        url = require_url(url)
        async with open_store(url) as store:
            if from_position is not None:
                after: Position | None = Position.parse(from_position)
                where = f"after position {from_position}"
            elif from_start:
                after, where = None, "from the first event"
            else:
                after = await store.head_position()
                where = "from now" if after is None else f"after position {after}"
            self._reader(store, after)  # bad input fails now, not after the note
            self.output.note(f"following {describe_url(url)} {where} (Ctrl-C to stop)")
            while True:
                async for event in self._reader(store, after):
                    self._print(event)
                    after = event.position
                    self.count += 1
                    if self.limit is not None and self.count >= self.limit:
                        return
                await store.wait_for_events(timeout=self.poll)

    def _reader(self, store: EventStore, after: Position | None) -> AsyncIterator[RecordedEvent]:
        if self.category is None:
            return store.read_all(from_position=after, event_types=self.event_types)
        return store.read_category(self.category, from_position=after, event_types=self.event_types)

    def _print(self, event: RecordedEvent) -> None:
        output = self.output
        data = orjson.dumps(event.data).decode()
        if output.as_json:
            output.json(event_json(event))
            return
        if output.rich:
            output.out.print(
                f"[dim]{event.position}[/] [bold]{escape(event.stream_id)}[/] "
                f"[magenta]v{event.version}[/] [cyan]{escape(event.event_type)}[/] "
                f"{escape(data)}"
            )
        else:
            output.line(
                f"{event.position}\t{event.stream_id}\t{event.version}\t{event.event_type}\t{data}"
            )
        output.out.file.flush()
