"""``export``: a store's events, in the global order, as JSON Lines (`_jsonl`)."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from datetime import UTC, datetime
from typing import IO, Any

import click
import orjson

from eventsourcing_kit.cli._common import (
    Output,
    describe_url,
    open_store,
    require_url,
    run,
    store_options,
)
from eventsourcing_kit.cli._jsonl import (
    FORMAT,
    FORMAT_VERSION,
    Checksum,
    advance,
    canonical_event,
    progress,
)
from eventsourcing_kit.stores import RecordedEvent

__all__ = ["export"]


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
        with progress(output, "exporting", total) as bar:
            if head is not None:
                async for event in reader:
                    if event.position > head:
                        break
                    file.write(_event_line(event))
                    checksum.add(event.stream_id, canonical_event(event))
                    advance(bar, 1)
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
