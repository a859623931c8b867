"""``export`` and ``import``: a store's events as JSON Lines, streamed both ways.

The file, one JSON object per line::

    {"kind": "header", "format": "eventsourcing-kit/events", "format_version": 1, ...}
    {"kind": "event", "stream_id": ..., "version": ..., "event_type": ..., "event_id": ...,
     "recorded_at": ..., "data": {...}, "metadata": {...}}
    ...
    {"kind": "footer", "events": N, "streams": S, "sha256": "..."}

Events come in the source's global order, and an import appends them in that
order, so the target's global order is the same. The checksum is the SHA-256
of each event's stored content (stream id, version, type, id, data and
metadata; not its timestamp or positions, which the target gives anew) in a
canonical JSON form, one per line: the import checks the file against it,
then reads the imported streams back from the target and checks them too.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import IO, Any
from uuid import UUID

import click
import orjson
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from eventsourcing_kit.cli._common import (
    CommandError,
    Output,
    describe_url,
    open_store,
    require_url,
    run,
    store_options,
)
from eventsourcing_kit.errors import ConcurrencyError
from eventsourcing_kit.stores import EventStore, NewEvent, RecordedEvent, StreamAppend

__all__ = ["export", "import_"]

FORMAT = "eventsourcing-kit/events"
FORMAT_VERSION = 1
_BATCH = 1000  # events appended together (of one stream or several), at most


def canonical(
    stream_id: str,
    version: int,
    event_type: str,
    event_id: str,
    data: Any,
    metadata: Any,
) -> bytes:
    """The line an event adds to the checksum: its content, in one JSON form."""
    return (
        orjson.dumps(
            [stream_id, version, event_type, event_id, data, metadata],
            option=orjson.OPT_SORT_KEYS,
        )
        + b"\n"
    )


def _canonical_event(event: RecordedEvent) -> bytes:
    return canonical(
        event.stream_id,
        event.version,
        event.event_type,
        str(event.event_id),
        event.data,
        event.metadata,
    )


class Checksum:
    """The running count, streams and SHA-256 of a sequence of events."""

    def __init__(self) -> None:
        self.events = 0
        self.streams: set[str] = set()
        self._hash = hashlib.sha256()

    def add(self, stream_id: str, line: bytes) -> None:
        self.events += 1
        self.streams.add(stream_id)
        self._hash.update(line)

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


@contextmanager
def _progress(output: Output, description: str, total: int | None) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal; else nothing is drawn."""
    if not output.progress:
        yield None
        return
    columns = [
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TaskProgressColumn() if total is not None else MofNCompleteColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=output.err, transient=True) as progress:
        yield (progress, progress.add_task(description, total=total))


def _advance(bar: Any, amount: int) -> None:
    if bar is not None:
        progress, task = bar
        progress.advance(task, amount)


# --- export -----------------------------------------------------------------------------


@click.command()
@store_options()
@click.option(
    "--output",
    "-o",
    "path",
    default="-",
    show_default=True,
    metavar="FILE",
    help="Where to write the JSON Lines ('-': stdout).",
)
@click.option("--category", "-c", metavar="NAME", help="Only the streams of this category.")
def export(url: str | None, as_json: bool, path: str, category: str | None) -> None:
    """Write the store's events, in the global order, as JSON Lines.

    Events stored while it runs are left out: the file holds the log up to
    the head as it was at the start. The summary (counts and SHA-256) goes to
    stderr, or to stdout when the events go to a file; with --json it is one
    JSON object.
    """
    output = Output(as_json=as_json)
    to_stdout = path == "-"
    url = require_url(url)
    with nullcontext(sys.stdout.buffer) if to_stdout else open(path, "wb") as file:
        summary = run(_export(url, output, file, category))
    if as_json:
        text = orjson.dumps(summary).decode()
    else:
        text = (
            f"exported {summary['events']} events of {summary['streams']} streams to "
            f"{'stdout' if to_stdout else path}, sha256 {summary['sha256']}"
        )
    if to_stdout:
        output.note(text)
    else:
        output.line(text)


async def _export(
    url: str, output: Output, file: IO[bytes], category: str | None
) -> dict[str, Any]:
    async with open_store(url) as store:
        head = await store.head_position()
        total = None
        if output.progress:
            total = sum([stream.version async for stream in store.list_streams(category=category)])
        header = {
            "kind": "header",
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "exported_at": datetime.now(UTC).isoformat(),
            "source": describe_url(url),
            "category": category,
        }
        file.write(orjson.dumps(header) + b"\n")
        checksum = Checksum()
        reader = store.read_all() if category is None else store.read_category(category)
        with _progress(output, "exporting", total) as bar:
            if head is not None:
                async for event in reader:
                    if event.position > head:
                        break
                    file.write(_event_line(event))
                    checksum.add(event.stream_id, _canonical_event(event))
                    _advance(bar, 1)
        summary = {
            "events": checksum.events,
            "streams": len(checksum.streams),
            "sha256": checksum.sha256,
        }
        file.write(orjson.dumps({"kind": "footer", **summary}) + b"\n")
        file.flush()
        return summary


def _event_line(event: RecordedEvent) -> bytes:
    return (
        orjson.dumps(
            {
                "kind": "event",
                "stream_id": event.stream_id,
                "version": event.version,
                "event_type": event.event_type,
                "event_id": str(event.event_id),
                "recorded_at": event.recorded_at.isoformat(),
                "data": event.data,
                "metadata": event.metadata,
            }
        )
        + b"\n"
    )


# --- import -----------------------------------------------------------------------------


@click.command("import")
@store_options()
@click.argument("path", metavar="FILE", default="-")
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Read the imported streams back from the store and check count and checksum.",
)
def import_(url: str | None, as_json: bool, path: str, verify: bool) -> None:
    """Append the events of an export FILE ('-': stdin) to the store.

    Each stream's events must follow on from what the store holds of that
    stream (import into an empty store, or one without these streams).
    Importing the same file again is harmless: events already stored are
    recognised by their ids and skipped, so an interrupted import is resumed
    by running it again. The store is created (and migrated) if needed.
    """
    output = Output(as_json=as_json)
    url = require_url(url)
    from_stdin = path == "-"
    with nullcontext(sys.stdin.buffer) if from_stdin else open(path, "rb") as file:
        size = None if from_stdin else os.fstat(file.fileno()).st_size
        summary = run(_import(url, output, file, size, verify))
    if as_json:
        output.json(summary)
        return
    verified = (
        f"; read back and verified, sha256 {summary['sha256']}"
        if verify
        else f"; sha256 {summary['sha256']} (not read back: --no-verify)"
    )
    output.line(
        f"imported {summary['events']} events of {summary['streams']} streams from "
        f"{'stdin' if from_stdin else path} into {describe_url(url)}{verified}"
    )


class _Importer:
    """Appends the events of a file as they come, several streams per append.

    Consecutive events of one stream form a run; consecutive runs of distinct
    streams go together in one `append_many`, which keeps their order in the
    global order. Each run expects its stream at the version before its
    first event. The batches depend on the file alone, so importing the same
    file again sends the same appends, which the store recognises as stored.
    """

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.checksum = Checksum()
        self._batch: list[StreamAppend] = []
        self._in_batch = 0  # events
        self._stream: str | None = None
        self._next = 0  # the version the stream's next event must have

    async def add(self, number: int, line: dict[str, Any]) -> None:
        try:
            stream_id = line["stream_id"]
            version = line["version"]
            if isinstance(version, bool) or not isinstance(version, int) or version < 1:
                raise ValueError(f"version {version!r}")
            event = NewEvent(
                event_type=line["event_type"],
                data=line["data"],
                metadata=line["metadata"],
                event_id=UUID(line["event_id"]),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise CommandError(f"line {number}: not an event of an export ({error!r})") from None
        if stream_id == self._stream:
            if version != self._next:
                raise CommandError(
                    f"line {number}: stream {stream_id!r} jumps to version {version} after "
                    f"version {self._next - 1}"
                )
            if self._in_batch >= _BATCH:
                await self.flush()
                self._batch.append(StreamAppend(stream_id, [], expected_version=version - 1))
        else:
            if self._in_batch >= _BATCH or any(
                append.stream_id == stream_id for append in self._batch
            ):
                await self.flush()
            self._batch.append(StreamAppend(stream_id, [], expected_version=version - 1))
            self._stream = stream_id
        events = self._batch[-1].events
        assert isinstance(events, list)
        events.append(event)
        self._in_batch += 1
        self._next = version + 1
        self.checksum.add(
            stream_id,
            canonical(
                stream_id,
                version,
                event.event_type,
                str(event.event_id),
                event.data,
                event.metadata,
            ),
        )

    async def flush(self) -> None:
        batch, self._batch, self._in_batch = self._batch, [], 0
        if not batch:
            return
        try:
            if len(batch) == 1:
                [one] = batch
                await self.store.append_events(
                    one.stream_id, one.events, expected_version=one.expected_version
                )
            else:
                await self.store.append_many(batch)
        except ConcurrencyError as conflict:
            raise CommandError(
                f"stream {conflict.stream_id!r} is at version {conflict.actual} in the store, "
                f"where the file's events of it expect version {conflict.expected}: import "
                "into an empty store, or one without the file's streams"
            ) from conflict


async def _import(
    url: str, output: Output, file: IO[bytes], size: int | None, verify: bool
) -> dict[str, Any]:
    lines = enumerate(file, start=1)
    first = next(lines, None)
    if first is None:
        raise CommandError("the file is empty: not an eventsourcing-kit export")
    header = _parse(*first)
    if header.get("kind") != "header" or header.get("format") != FORMAT:
        raise CommandError(
            "not an eventsourcing-kit export: its first line is not the header that "
            "'eventsourcing-kit export' writes"
        )
    if header.get("format_version") != FORMAT_VERSION:
        raise CommandError(
            f"export format version {header.get('format_version')!r} is not one this version "
            f"reads ({FORMAT_VERSION}); use the kit's version that wrote it, or a newer one"
        )
    footer: dict[str, Any] | None = None
    async with open_store(url, create=True) as store:
        importer = _Importer(store)
        with _progress(output, "importing", size) as bar:
            for number, raw in lines:
                _advance(bar, len(raw))
                line = _parse(number, raw)
                kind = line.get("kind")
                if footer is not None:
                    raise CommandError(f"line {number}: the file goes on after its footer")
                if kind == "event":
                    await importer.add(number, line)
                elif kind == "footer":
                    footer = line
                else:
                    raise CommandError(f"line {number}: unknown kind of line {kind!r}")
            await importer.flush()
        checksum = importer.checksum
        if footer is None:
            raise CommandError(
                f"the file ends without its footer (truncated?): its {checksum.events} events "
                "were imported; import the complete file again (stored events are skipped)"
            )
        expected = (footer.get("events"), footer.get("streams"), footer.get("sha256"))
        read = (checksum.events, len(checksum.streams), checksum.sha256)
        if read != expected:
            raise CommandError(
                f"the file does not match its footer: read {read[0]} events of {read[1]} "
                f"streams, sha256 {read[2]}; the footer says {expected[0]} events of "
                f"{expected[1]} streams, sha256 {expected[2]} (the file is damaged)"
            )
        if verify:
            back = await _read_back(store, checksum.streams)
            if (back.events, back.sha256) != (checksum.events, checksum.sha256):
                raise CommandError(
                    f"verification failed: the store reads back {back.events} events of the "
                    f"imported streams with sha256 {back.sha256}; the file has "
                    f"{checksum.events} with sha256 {checksum.sha256}"
                )
    return {
        "events": checksum.events,
        "streams": len(checksum.streams),
        "sha256": checksum.sha256,
        "verified": verify,
    }


def _parse(number: int, raw: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise CommandError(f"line {number}: not JSON ({error})") from None
    if not isinstance(value, dict):
        raise CommandError(f"line {number}: not a JSON object")
    return value


async def _read_back(store: EventStore, streams: set[str]) -> Checksum:
    """The checksum of the store's events of `streams`, in its global order."""
    checksum = Checksum()
    async for event in store.read_all():
        if event.stream_id in streams:
            checksum.add(event.stream_id, _canonical_event(event))
    return checksum
