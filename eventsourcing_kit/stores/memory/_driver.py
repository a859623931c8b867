"""The memory driver: the reference behaviour of every backend, in this process.

Payloads are kept as JSON bytes and decoded on every read, like a database
would, so that a caller mutating what it read (or what it wrote) never
changes the log. A checkpoint transaction is real here too: while one is
open, other writers wait for it, readers outside it do not see its writes,
and a failed block undoes them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID

from eventsourcing_kit.serialization import decode_json
from eventsourcing_kit.stores.driver import (
    Appended,
    AppendOutcome,
    AppendRequest,
    AppendResult,
    AppendSignal,
    Capabilities,
    CheckpointFenced,
    CheckpointOutcome,
    CheckpointSaved,
    Driver,
    DriverTransaction,
    GlobalRead,
    LeaseGranted,
    LeaseOutcome,
    LeaseRefused,
    Position,
    RecordedEvent,
    Rejected,
    Snapshot,
    StreamInfo,
    StreamRead,
    StreamsRead,
    expected_version_holds,
    nested_transaction_error,
    position_of,
)

__all__ = ["MemoryDriver"]


class _Row(NamedTuple):
    stream_id: str
    version: int
    event_type: str
    data: bytes
    metadata: bytes
    event_id: UUID
    recorded_at: datetime


class _Transaction(DriverTransaction):
    """An open checkpoint transaction: what it must undo if it fails."""

    def __init__(self, driver: MemoryDriver, subscription_id: str) -> None:
        self._driver = driver
        self._subscription_id = subscription_id
        self.rows_before = len(driver.rows)
        self.snapshots_before = dict(driver.snapshots)
        self.checkpoints_before = dict(driver.checkpoints)
        self.position: Position | None = None

    async def save_checkpoint(self, position: Position) -> None:
        self.position = position

    async def save_checkpoint_if(
        self, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        # The transaction holds the driver's lock, and every other checkpoint
        # write waits for it: what is compared now still holds at the commit.
        actual = self._driver.checkpoints.get(self._subscription_id)
        if actual != expected:
            return CheckpointFenced(actual)
        self.position = position
        return CheckpointSaved()


# The transactions open in this context. A context variable, not the task:
# tasks the block starts (asyncio.gather, wait_for) join its transaction.
_OPEN: ContextVar[tuple[_Transaction, ...]] = ContextVar(
    "eventsourcing_kit_memory_transactions", default=()
)


class MemoryDriver(Driver):
    """The storage of one ``memory://`` store."""

    atomic_checkpoints = True
    supports_leases = True
    capabilities = Capabilities(partition_filter=True)

    def __init__(self) -> None:
        self.rows: list[_Row] = []
        self.streams: dict[str, list[int]] = {}
        self.by_id: dict[UUID, int] = {}
        self.snapshots: dict[str, tuple[Snapshot, bytes]] = {}
        self.checkpoints: dict[str, Position] = {}
        self.leases: dict[str, tuple[str, float]] = {}  # name: (owner, expiry, monotonic)
        self._signal = AppendSignal()
        self._lock = asyncio.Lock()
        self._open: _Transaction | None = None

    # --- positions -----------------------------------------------------------

    @property
    def start_position(self) -> Position:
        return Position(0)

    def check_position(self, position: object) -> Position:
        return position_of(position, parts=1, backend="memory")

    # --- transactions ----------------------------------------------------------

    def _joined(self) -> bool:
        return self._open is not None and self._open in _OPEN.get()

    def _visible(self) -> int:
        """How many rows the caller sees: not another transaction's uncommitted ones."""
        if self._open is None or self._joined():
            return len(self.rows)
        return self._open.rows_before

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        # Inside the open transaction, or when none is open, write at once;
        # otherwise wait for it to end, as a database writer waits for a lock.
        if self._open is None or self._joined():
            yield
            return
        async with self._lock:
            yield

    def transaction(self, subscription_id: str) -> Any:
        if self._joined():
            # Waiting for the lock would wait for the open transaction: a deadlock.
            raise nested_transaction_error()
        return self._transaction(subscription_id)

    @asynccontextmanager
    async def _transaction(self, subscription_id: str) -> AsyncIterator[DriverTransaction]:
        async with self._lock:
            opened = _Transaction(self, subscription_id)
            self._open = opened
            token = _OPEN.set((*_OPEN.get(), opened))
            committed = False
            try:
                yield opened
                if opened.position is not None:
                    self.checkpoints[subscription_id] = opened.position
                committed = True
            finally:
                self._open = None
                _OPEN.reset(token)
                if not committed:
                    self._undo(opened)
        if len(self.rows) > opened.rows_before:
            self._signal.notify()

    def _undo(self, opened: _Transaction) -> None:
        while len(self.rows) > opened.rows_before:
            row = self.rows.pop()
            del self.by_id[row.event_id]
            stream = self.streams[row.stream_id]
            stream.pop()
            if not stream:
                del self.streams[row.stream_id]
        self.snapshots = opened.snapshots_before
        self.checkpoints = opened.checkpoints_before

    # --- writing -------------------------------------------------------------

    async def append(self, request: AppendRequest) -> AppendOutcome:
        async with self._writing():
            return self._append_now(request)

    def _append_now(self, request: AppendRequest) -> AppendOutcome:
        # No await from the checks to the last write: atomic with respect to
        # every other task on this event loop.
        for index, write in enumerate(request.writes):
            if any(prepared.event.event_id in self.by_id for prepared in write.events):
                return Rejected(index)
            actual = len(self.streams.get(write.stream_id, ()))
            if not expected_version_holds(write.expected, actual):
                return Rejected(index, actual)
        now = datetime.now(UTC)
        results = []
        for write in request.writes:
            stream = self.streams.setdefault(write.stream_id, [])
            for prepared in write.events:
                event = prepared.event
                self.rows.append(
                    _Row(
                        write.stream_id,
                        len(stream) + 1,
                        event.event_type,
                        prepared.data,
                        prepared.metadata,
                        event.event_id,
                        now,
                    )
                )
                stream.append(len(self.rows) - 1)
                self.by_id[event.event_id] = len(self.rows) - 1
            position = len(self.rows)
            results.append(
                AppendResult(
                    stream_id=write.stream_id,
                    version=len(stream),
                    global_position=position,
                    position=Position(position),
                )
            )
        if self._open is None:
            self._signal.notify()
        return Appended(tuple(results))

    async def events_by_id(
        self, event_ids: Sequence[UUID], *, session: Any = None
    ) -> Mapping[UUID, RecordedEvent]:
        visible = self._visible()
        found = {}
        for event_id in event_ids:
            index = self.by_id.get(event_id)
            if index is not None and index < visible:
                found[event_id] = self._record(index)
        return found

    # --- reading -------------------------------------------------------------

    def _record(self, index: int) -> RecordedEvent:
        row = self.rows[index]
        return RecordedEvent(
            stream_id=row.stream_id,
            version=row.version,
            event_type=row.event_type,
            data=decode_json(row.data),
            metadata=decode_json(row.metadata),
            event_id=row.event_id,
            global_position=index + 1,
            recorded_at=row.recorded_at,
        )

    def read_stream(self, request: StreamRead) -> AsyncIterator[RecordedEvent]:
        return self._read_stream(request.stream_id, request.from_version)

    async def _read_stream(self, stream_id: str, from_version: int) -> AsyncIterator[RecordedEvent]:
        offset = from_version - 1
        while True:
            stream = self.streams.get(stream_id, [])
            if offset >= len(stream) or stream[offset] >= self._visible():
                return
            yield self._record(stream[offset])
            offset += 1

    def read_global(self, request: GlobalRead) -> AsyncIterator[RecordedEvent]:
        return self._scan(request)

    async def _scan(self, request: GlobalRead) -> AsyncIterator[RecordedEvent]:
        category, partition = request.category, request.partition
        wanted = None if request.event_types is None else frozenset(request.event_types)
        for index in self._indexes(int(request.after)):
            row = self.rows[index]
            if (
                (category is None or row.stream_id.partition("-")[0] == category)
                and (wanted is None or row.event_type in wanted)
                and (partition is None or partition.holds(row.stream_id))
            ):
                yield self._record(index)

    def _indexes(self, start: int) -> Iterator[int]:
        index = start
        while index < self._visible():
            yield index
            index += 1

    async def stream_version(self, stream_id: str) -> int:
        stream = self.streams.get(stream_id, ())
        if self._open is None or self._joined():
            return len(stream)
        visible = self._open.rows_before
        return sum(1 for index in stream if index < visible)

    async def head_position(self) -> Position | None:
        visible = self._visible()
        return Position(visible) if visible else None

    def list_streams(self, request: StreamsRead) -> AsyncIterator[StreamInfo]:
        return self._list_streams(request.category)

    async def _list_streams(self, category: str | None) -> AsyncIterator[StreamInfo]:
        # The ids as they are now, then each one's version as a reader sees it
        # when it is handed out, as a database's pages would.
        for stream_id in sorted(self.streams):
            if category is not None and stream_id.partition("-")[0] != category:
                continue
            version = await self.stream_version(stream_id)
            if version:
                yield StreamInfo(stream_id=stream_id, version=version)

    # --- snapshots and checkpoints -------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot, data: bytes) -> None:
        async with self._writing():
            current = self.snapshots.get(snapshot.stream_id)
            if current is not None and current[0].version > snapshot.version:
                return
            recorded = Snapshot(
                stream_id=snapshot.stream_id,
                version=snapshot.version,
                state_schema=snapshot.state_schema,
                data={},
                recorded_at=datetime.now(UTC),
            )
            self.snapshots[snapshot.stream_id] = (recorded, data)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        found = self.snapshots.get(stream_id)
        if found is None:
            return None
        snapshot, data = found
        return Snapshot(
            stream_id=snapshot.stream_id,
            version=snapshot.version,
            state_schema=snapshot.state_schema,
            data=decode_json(data),
            recorded_at=snapshot.recorded_at,
        )

    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        return self.checkpoints.get(subscription_id)

    async def save_checkpoint(self, subscription_id: str, position: Position) -> None:
        async with self._writing():
            self.checkpoints[subscription_id] = position

    async def save_checkpoint_if(
        self, subscription_id: str, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        async with self._writing():
            # No await between the comparison and the write: atomic here.
            actual = self.checkpoints.get(subscription_id)
            if actual != expected:
                return CheckpointFenced(actual)
            self.checkpoints[subscription_id] = position
            return CheckpointSaved()

    async def delete_checkpoint(self, subscription_id: str) -> None:
        async with self._writing():
            self.checkpoints.pop(subscription_id, None)

    async def list_checkpoints(self) -> Mapping[str, Position]:
        if self._open is None or self._joined():
            return dict(self.checkpoints)
        return dict(self._open.checkpoints_before)

    # --- leases -----------------------------------------------------------------

    async def acquire_lease(self, name: str, owner: str, ttl: float) -> LeaseOutcome:
        now = time.monotonic()
        held = self.leases.get(name)
        if held is not None and held[0] != owner and held[1] > now:
            return LeaseRefused(held[0])
        self.leases[name] = (owner, now + ttl)
        return LeaseGranted()

    async def release_lease(self, name: str, owner: str) -> None:
        held = self.leases.get(name)
        if held is not None and held[0] == owner:
            del self.leases[name]

    async def lease_holders(self, prefix: str) -> Mapping[str, str]:
        now = time.monotonic()
        return {
            name: owner
            for name, (owner, expires) in self.leases.items()
            if name.startswith(prefix) and expires > now
        }

    # --- live delivery and lifecycle -----------------------------------------

    async def wait_for_events(self, timeout: float) -> bool:
        return await self._signal.wait(timeout)

    async def close(self) -> None:
        """Nothing to release: the log goes with the store object."""
