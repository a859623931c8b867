"""The DynamoDB driver: appends as conditional transactions, reads, the indexer's task."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import attrs

from eventsourcing_kit.errors import TransientStoreError
from eventsourcing_kit.stores.driver import (
    Appended,
    AppendOutcome,
    AppendRequest,
    AppendResult,
    AppendSignal,
    Capabilities,
    CheckpointOutcome,
    Driver,
    DriverTransaction,
    ExpectedVersion,
    GlobalRead,
    LeaseOutcome,
    Position,
    RecordedEvent,
    Rejected,
    Snapshot,
    StreamInfo,
    StreamRead,
    StreamsRead,
    StreamWrite,
    position_of,
)
from eventsourcing_kit.stores.dynamodb import _listing, _reads, _state, _subscription_leases
from eventsourcing_kit.stores.dynamodb._appends import (
    Retry,
    base_version,
    classify,
    first_rejected,
    read_bases,
    read_version,
    transaction,
)
from eventsourcing_kit.stores.dynamodb._client import Calls, Canceled
from eventsourcing_kit.stores.dynamodb._indexer import Indexer
from eventsourcing_kit.stores.dynamodb._items import micros
from eventsourcing_kit.stores.dynamodb._limits import GUARANTEED_EVENTS_PER_APPEND, check_append
from eventsourcing_kit.stores.dynamodb._read_models import checkpoint_writes

__all__ = ["DriverOptions", "DynamoDBDriver"]


@attrs.frozen(kw_only=True)
class DriverOptions:
    """The driver's timings, checked by `DynamoDBEventStore.open`."""

    indexer: bool = True
    lease_ttl: float = 10.0
    poll_interval: float = 0.05
    standby_poll: float = 1.0
    shard_read_interval: float = 0.2
    index_wait: float = 30.0
    append_attempts: int = 50


class DynamoDBDriver(Driver):
    """The storage of one ``dynamodb://`` store: a table and its stream."""

    capabilities = Capabilities(max_events_per_append=GUARANTEED_EVENTS_PER_APPEND)
    atomic_checkpoints = True

    def __init__(self, calls: Calls, stack: AsyncExitStack, options: DriverOptions) -> None:
        self.calls = calls
        self._stack = stack
        self._options = options
        self._signal = AppendSignal()
        self.indexer = Indexer(
            calls,
            self._signal,
            lease_ttl=options.lease_ttl,
            poll_interval=options.poll_interval,
            standby_poll=options.standby_poll,
            shard_read_interval=options.shard_read_interval,
        )
        self._waiter = _reads.IndexWait(
            calls,
            self._signal,
            self.indexer.recent,
            lambda: self.indexer.active,
            timeout=options.index_wait,
            poll_interval=options.poll_interval,
        )
        self._task: asyncio.Task[None] | None = None
        self._seen = 0

    def start(self) -> None:
        """Start this process's indexer (active when it gets the lease)."""
        if self._options.indexer and self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self.indexer.run(), name=f"eventsourcing-kit-indexer-{self.calls.location.table}"
            )

    # --- positions -----------------------------------------------------------

    @property
    def start_position(self) -> Position:
        return Position(0)

    def check_position(self, position: object) -> Position:
        return position_of(position, parts=1, backend="dynamodb")

    # --- writing -------------------------------------------------------------

    async def append(self, request: AppendRequest) -> AppendOutcome:
        writes = request.writes
        check_append(writes)
        retry = self.calls.retry
        for attempt in range(self._options.append_attempts):
            read = await read_bases(self.calls, writes)
            bases = [base_version(write, seen) for write, seen in zip(writes, read, strict=True)]
            for index, write in enumerate(writes):
                if write.expected is ExpectedVersion.STREAM_EXISTS and read[index] == 0:
                    return await first_rejected(self.calls, writes[: index + 1], read)
            versions = [base or 0 for base in bases]
            actions = transaction(
                self.calls.location.table, writes, versions, micros(datetime.now(UTC))
            )
            try:
                await self.calls(
                    "transact_write_items",
                    TransactItems=actions,
                    ClientRequestToken=str(uuid.uuid4()),
                )
            except Canceled as canceled:
                outcome = classify(canceled.reasons, writes)
                if outcome is None:
                    raise TransientStoreError(
                        f"DynamoDB cancelled the append for {canceled}: try again"
                    ) from None
                if isinstance(outcome, Rejected):
                    return outcome
                assert isinstance(outcome, Retry)
                await asyncio.sleep(retry.delay(min(attempt, 6)))
                continue
            self.indexer.poke()
            return Appended(await self._results(writes, versions))
        raise TransientStoreError(
            f"the append to stream {writes[0].stream_id!r} lost the race for its stream's "
            f"version {self._options.append_attempts} times in a row: try again"
        )

    async def _results(
        self, writes: tuple[StreamWrite, ...], bases: list[int]
    ) -> tuple[AppendResult, ...]:
        async def result(write: StreamWrite, base: int) -> AppendResult:
            version = base + len(write.events)
            position = await self._waiter.position(write.stream_id, version)
            return AppendResult(
                stream_id=write.stream_id,
                version=version,
                global_position=position,
                position=Position(position),
            )

        return tuple(
            await asyncio.gather(
                *(result(write, base) for write, base in zip(writes, bases, strict=True))
            )
        )

    async def events_by_id(
        self, event_ids: Sequence[UUID], *, session: Any = None
    ) -> Mapping[UUID, RecordedEvent]:
        return await _reads.events_by_id(self.calls, event_ids, self._waiter)

    # --- reading -------------------------------------------------------------

    def read_stream(self, request: StreamRead) -> AsyncIterator[RecordedEvent]:
        return _reads.read_stream(self.calls, request, self._waiter)

    def read_global(self, request: GlobalRead) -> AsyncIterator[RecordedEvent]:
        return _reads.read_global(self.calls, request)

    async def stream_version(self, stream_id: str) -> int:
        return await read_version(self.calls, stream_id)

    def list_streams(self, request: StreamsRead) -> AsyncIterator[StreamInfo]:
        return _listing.list_streams(self.calls, request.category, request.batch_size)

    async def list_checkpoints(self) -> Mapping[str, Position]:
        return await _listing.list_checkpoints(self.calls)

    async def head_position(self) -> Position | None:
        high = await _reads.watermark(self.calls)
        self._seen = max(self._seen, high)
        return Position(high) if high else None

    # --- snapshots and checkpoints -------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot, data: bytes) -> None:
        await _state.save_snapshot(self.calls, snapshot, data)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        return await _state.load_snapshot(self.calls, stream_id)

    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        return await _state.load_checkpoint(self.calls, subscription_id)

    async def save_checkpoint(self, subscription_id: str, position: Position) -> None:
        await _state.save_checkpoint(self.calls, subscription_id, position)

    async def save_checkpoint_if(
        self, subscription_id: str, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        return await _state.save_checkpoint_if(
            self.calls, subscription_id, position, expected=expected
        )

    async def delete_checkpoint(self, subscription_id: str) -> None:
        await _state.delete_checkpoint(self.calls, subscription_id)

    def transaction(self, subscription_id: str) -> AbstractAsyncContextManager[DriverTransaction]:
        # Its connection is a `ReadModelWrites`: the handler's writes go in
        # the same TransactWriteItems as the conditional checkpoint.
        return checkpoint_writes(self.calls, subscription_id)

    # --- leases ------------------------------------------------------------------

    supports_leases = True

    async def acquire_lease(self, name: str, owner: str, ttl: float) -> LeaseOutcome:
        return await _subscription_leases.acquire_lease(self.calls, name, owner, ttl)

    async def release_lease(self, name: str, owner: str) -> None:
        await _subscription_leases.release_lease(self.calls, name, owner)

    async def lease_holders(self, prefix: str) -> Mapping[str, str]:
        return await _subscription_leases.lease_holders(self.calls, prefix)

    # --- live delivery and lifecycle -----------------------------------------

    async def wait_for_events(self, timeout: float) -> bool:
        # The watermark is polled: the active indexer may be in another
        # process, whose commits no signal of this one announces.
        deadline = time.monotonic() + timeout
        seen = self._seen
        while True:
            high = await _reads.watermark(self.calls)
            if high > seen:
                self._seen = high
                return True
            self._seen = max(self._seen, high)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            await self._signal.wait(min(self._options.poll_interval, remaining))

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            with contextlib.suppress(Exception):
                await self.indexer.stop()
        await self._stack.aclose()
