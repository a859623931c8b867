"""``import``: an export's events appended to a store, checked against the file and read back."""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from typing import IO, Any
from uuid import UUID

import click
import orjson

from eventsourcing_kit.cli._common import (
    CommandError,
    Output,
    describe_url,
    open_store,
    require_url,
    run,
    store_options,
)
from eventsourcing_kit.cli._jsonl import (
    BATCH,
    FORMAT,
    FORMAT_VERSION,
    Checksum,
    advance,
    canonical,
    canonical_event,
    progress,
)
from eventsourcing_kit.errors import ConcurrencyError
from eventsourcing_kit.stores import EventStore, NewEvent, StreamAppend

__all__ = ["import_"]


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
            if self._in_batch >= BATCH:
                await self.flush()
                self._batch.append(StreamAppend(stream_id, [], expected_version=version - 1))
        else:
            if self._in_batch >= BATCH or any(
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
        with progress(output, "importing", size) as bar:
            for number, raw in lines:
                advance(bar, len(raw))
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
            checksum.add(event.stream_id, canonical_event(event))
    return checksum
