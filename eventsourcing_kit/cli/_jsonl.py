"""The JSON Lines format of ``export`` and ``import``, and what both draw with.

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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from eventsourcing_kit.cli._common import Output
from eventsourcing_kit.stores import RecordedEvent

__all__ = [
    "BATCH",
    "FORMAT",
    "FORMAT_VERSION",
    "Checksum",
    "advance",
    "canonical",
    "canonical_event",
    "progress",
]

FORMAT = "eventsourcing-kit/events"
FORMAT_VERSION = 1
BATCH = 1000  # events appended together (of one stream or several), at most


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


def canonical_event(event: RecordedEvent) -> bytes:
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
def progress(output: Output, description: str, total: int | None) -> Iterator[Any]:
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


def advance(bar: Any, amount: int) -> None:
    if bar is not None:
        progress, task = bar
        progress.advance(task, amount)
