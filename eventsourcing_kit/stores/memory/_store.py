"""The in-memory event store: the reference behaviour, for tests and examples.

Everything lives in this process and is gone when it ends. Payloads are kept
as JSON bytes and decoded on every read, like a database would, so that a
caller mutating what it read (or what it wrote) never changes the log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple
from uuid import UUID

import structlog

from eventsourcing_kit.errors import StoreClosedError
from eventsourcing_kit.serialization._json import loads
from eventsourcing_kit.stores._base import DEFAULT_BATCH_SIZE, EventStore
from eventsourcing_kit.stores._records import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    Position,
    RecordedEvent,
    Snapshot,
)
from eventsourcing_kit.stores._validation import (
    check_expected_version,
    encode_events,
    encode_snapshot,
    resolve_retry,
    validate_batch_size,
    validate_event_types,
    validate_expected_version,
    validate_from_version,
    validate_int_position,
    validate_stream_id,
    validate_subscription_id,
)

__all__ = ["MemoryEventStore"]

logger = structlog.get_logger(__name__)


class _Row(NamedTuple):
    stream_id: str
    version: int
    event_type: str
    data: bytes
    metadata: bytes
    event_id: UUID
    recorded_at: datetime


class MemoryEventStore(EventStore):
    """An event store held in this process's memory (``memory://``)."""

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[_Row] = []
        self._streams: dict[str, list[int]] = {}
        self._by_id: dict[UUID, int] = {}
        self._snapshots: dict[str, tuple[Snapshot, bytes]] = {}
        self._checkpoints: dict[str, Position] = {}
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError()

    def _record(self, index: int) -> RecordedEvent:
        row = self._rows[index]
        return RecordedEvent(
            stream_id=row.stream_id,
            version=row.version,
            event_type=row.event_type,
            data=loads(row.data),
            metadata=loads(row.metadata),
            event_id=row.event_id,
            global_position=index + 1,
            position=index + 1,
            recorded_at=row.recorded_at,
        )

    async def append_events(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | ExpectedVersion = ExpectedVersion.ANY,
    ) -> AppendResult:
        self._check_open()
        validate_stream_id(stream_id)
        expected = validate_expected_version(expected_version)
        encoded = encode_events(events)
        # No await between here and the end: the check and the write are atomic
        # with respect to every other task on this event loop.
        stored = [self._by_id.get(event.event_id) for event, _, _ in encoded]
        retried = resolve_retry(
            stream_id,
            encoded,
            expected,
            [None if index is None else self._record(index) for index in stored],
        )
        if retried is not None:
            return retried
        stream = self._streams.get(stream_id, [])
        check_expected_version(stream_id, expected, len(stream))
        now = datetime.now(UTC)
        version = len(stream)
        for event, data, metadata in encoded:
            version += 1
            self._rows.append(
                _Row(stream_id, version, event.event_type, data, metadata, event.event_id, now)
            )
            index = len(self._rows) - 1
            stream.append(index)
            self._by_id[event.event_id] = index
        self._streams[stream_id] = stream
        self._signal.notify()
        logger.debug("appended", stream_id=stream_id, count=len(encoded), version=version)
        position = len(self._rows)
        return AppendResult(
            stream_id=stream_id, version=version, global_position=position, position=position
        )

    def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> AsyncIterator[RecordedEvent]:
        self._check_open()
        validate_stream_id(stream_id)
        validate_from_version(from_version)
        validate_batch_size(batch_size)
        return self._read_stream(stream_id, from_version)

    async def _read_stream(self, stream_id: str, from_version: int) -> AsyncIterator[RecordedEvent]:
        stream = self._streams.get(stream_id, [])
        offset = from_version - 1
        while offset < len(stream):
            self._check_open()
            yield self._record(stream[offset])
            offset += 1

    def _read_global(
        self,
        category: str | None,
        from_position: Position | None,
        event_types: Iterable[str] | None,
        batch_size: int,
    ) -> AsyncIterator[RecordedEvent]:
        self._check_open()
        start = 0 if from_position is None else validate_int_position(from_position)
        types = validate_event_types(event_types)
        validate_batch_size(batch_size)
        return self._scan(category, start, None if types is None else frozenset(types))

    async def _scan(
        self, category: str | None, index: int, wanted: frozenset[str] | None
    ) -> AsyncIterator[RecordedEvent]:
        while index < len(self._rows):
            self._check_open()
            row = self._rows[index]
            if (category is None or row.stream_id.partition("-")[0] == category) and (
                wanted is None or row.event_type in wanted
            ):
                yield self._record(index)
            index += 1

    async def stream_version(self, stream_id: str) -> int:
        self._check_open()
        validate_stream_id(stream_id)
        return len(self._streams.get(stream_id, ()))

    async def head_position(self) -> Position | None:
        self._check_open()
        return len(self._rows) or None

    @property
    def start_position(self) -> Position:
        return 0

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        self._check_open()
        data = encode_snapshot(snapshot)
        current = self._snapshots.get(snapshot.stream_id)
        if current is not None and current[0].version > snapshot.version:
            return
        recorded = Snapshot(
            stream_id=snapshot.stream_id,
            version=snapshot.version,
            state_schema=snapshot.state_schema,
            data={},
            recorded_at=datetime.now(UTC),
        )
        self._snapshots[snapshot.stream_id] = (recorded, data)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        self._check_open()
        validate_stream_id(stream_id)
        found = self._snapshots.get(stream_id)
        if found is None:
            return None
        snapshot, data = found
        return Snapshot(
            stream_id=snapshot.stream_id,
            version=snapshot.version,
            state_schema=snapshot.state_schema,
            data=loads(data),
            recorded_at=snapshot.recorded_at,
        )

    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        self._check_open()
        return self._checkpoints.get(validate_subscription_id(subscription_id))

    async def save_checkpoint(self, subscription_id: str, position: Position) -> None:
        self._check_open()
        validate_subscription_id(subscription_id)
        self._checkpoints[subscription_id] = validate_int_position(position)

    async def delete_checkpoint(self, subscription_id: str) -> None:
        self._check_open()
        self._checkpoints.pop(validate_subscription_id(subscription_id), None)

    async def close(self) -> None:
        self._closed = True
