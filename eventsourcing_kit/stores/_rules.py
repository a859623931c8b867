"""The two rules every backend obeys, written once: expected versions and retries.

A backend with SQL of its own (PostgreSQL) writes the version rule once
more, in SQL (``expected_version_holds()``, store/postgres/0010), so that
the check and the write are one statement; every one of its append
statements and functions asks that function, and a test holds it to this
one. Everything else (the memory and SQLite drivers, and the core when a
driver reports a rejected append) asks these functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

from eventsourcing_kit.errors import DuplicateEventError
from eventsourcing_kit.serialization import decode_json
from eventsourcing_kit.stores._driver import PreparedEvent, StreamWrite
from eventsourcing_kit.stores._records import AppendResult, ExpectedVersion, RecordedEvent

__all__ = ["expected_version_holds", "recognise_retry"]


def expected_version_holds(expected: int | ExpectedVersion, actual: int) -> bool:
    """Whether a stream whose version is `actual` satisfies `expected`."""
    if expected is ExpectedVersion.ANY:
        return True
    if expected is ExpectedVersion.NO_STREAM:
        return actual == 0
    if expected is ExpectedVersion.STREAM_EXISTS:
        return actual > 0
    return actual == expected


def recognise_retry(
    write: StreamWrite, stored: Mapping[UUID, RecordedEvent]
) -> AppendResult | None:
    """What a write whose event ids may already be stored means.

    `stored` maps event ids to the stored events (it may hold more ids than
    this write's). None of this write's ids stored: the write is new, return
    None. All of them stored, in this stream, in this order, at the versions
    this write would have given them and with the same content: it is the
    retry of a write whose reply was lost, return that write's result.
    Anything else raises `DuplicateEventError`.
    """
    found = [stored.get(prepared.event.event_id) for prepared in write.events]
    if all(record is None for record in found):
        return None
    stream_id = write.stream_id
    first = found[0]
    for index, (prepared, record) in enumerate(zip(write.events, found, strict=True)):
        event_id = prepared.event.event_id
        if record is None:
            some = next(record.event_id for record in found if record is not None)
            raise DuplicateEventError(
                some, stream_id=stream_id, detail="only part of this batch is stored"
            )
        if record.stream_id != stream_id:
            raise DuplicateEventError(
                event_id, stream_id=stream_id, detail=f"it is stored in stream {record.stream_id!r}"
            )
        assert first is not None
        if record.version != first.version + index:
            raise DuplicateEventError(
                event_id, stream_id=stream_id, detail="the batch is stored in another order"
            )
        if not _same_content(prepared, record):
            raise DuplicateEventError(
                event_id,
                stream_id=stream_id,
                detail=f"the stored event at version {record.version} has other content",
            )
    assert first is not None
    before = first.version - 1
    if not expected_version_holds(write.expected, before):
        raise DuplicateEventError(
            first.event_id,
            stream_id=stream_id,
            detail=f"it was stored after version {before}, this append expected {write.expected}",
        )
    last = found[-1]
    assert last is not None
    return AppendResult(
        stream_id=stream_id,
        version=last.version,
        global_position=last.global_position,
        position=last.position,
    )


def _same_content(prepared: PreparedEvent, record: RecordedEvent) -> bool:
    return (
        record.event_type == prepared.event.event_type
        and record.data == decode_json(prepared.data)
        and record.metadata == decode_json(prepared.metadata)
    )


def retried_results(
    writes: Sequence[StreamWrite], stored: Mapping[UUID, RecordedEvent]
) -> list[AppendResult | None]:
    """`recognise_retry` for each write of one append."""
    return [recognise_retry(write, stored) for write in writes]
