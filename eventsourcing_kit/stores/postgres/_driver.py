"""`PostgresDriver`: the PostgreSQL backend behind the core `EventStore`.

It wires the parts, each a module of its own: `_appends` (the append paths,
a base class of the driver; several streams in `_many`), `_reads` (streams
and the gap-free global order), `_snapshots` (snapshots and checkpoints),
`_notify` (LISTEN/NOTIFY), `_lane` (the pool connections kept between
statements).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID

import asyncpg

from eventsourcing_kit.stores.driver import (
    Capabilities,
    CheckpointOutcome,
    Driver,
    DriverTransaction,
    GlobalRead,
    LeaseOutcome,
    Position,
    RecordedEvent,
    Snapshot,
    StreamInfo,
    StreamRead,
    StreamsRead,
)
from eventsourcing_kit.stores.postgres._appends import Appends
from eventsourcing_kit.stores.postgres._connect import QuietReset
from eventsourcing_kit.stores.postgres._lane import Lane
from eventsourcing_kit.stores.postgres._leases import Leases
from eventsourcing_kit.stores.postgres._notify import Listener, Notifier, channel_for
from eventsourcing_kit.stores.postgres._options import PostgresOptions
from eventsourcing_kit.stores.postgres._positions import START, validate_position
from eventsourcing_kit.stores.postgres._queries import Queries
from eventsourcing_kit.stores.postgres._reads import Reader
from eventsourcing_kit.stores.postgres._snapshots import Snapshots

__all__ = ["PostgresDriver"]


class PostgresDriver(Appends, Driver):
    """The storage of one store in one PostgreSQL schema, on an asyncpg pool.

    `append` comes from `Appends`. Positions are pairs ``(transaction id,
    global position)`` (`_positions`).
    """

    atomic_checkpoints = True
    supports_leases = True
    capabilities = Capabilities(partition_filter=True)

    def __init__(
        self,
        pool: asyncpg.Pool,
        options: PostgresOptions,
        *,
        owns_pool: bool,
        quiet_reset: QuietReset | None = None,
        notify_connect: Callable[[], Awaitable[asyncpg.Connection]] | None = None,
    ) -> None:
        """A driver on `pool` with checked `options`.

        `owns_pool`: `close` closes the pool too. `quiet_reset` is given for
        the store's own pool only (a user's pool keeps its reset);
        `notify_connect` opens the dedicated NOTIFY connection, where the
        store may open connections of its own.
        """
        schema = options.schema
        self.pool = pool
        self.schema = schema
        self._owns_pool = owns_pool
        sql = Queries.for_schema(schema)
        channel = channel_for(schema)
        lane = Lane(pool, quiet_reset=quiet_reset)
        Appends.__init__(
            self,
            pool,
            lane,
            sql,
            schema=schema,
            channel=channel,
            notify=options.notify,
            notifier=Notifier(pool, channel, delay=options.notify_delay, connect=notify_connect),
            listener=Listener(pool, channel),
            group_commit=options.group_commit,
        )
        self._reader = Reader(lane, sql, schema=schema, visibility_wait=options.visibility_wait)
        self._snapshots = Snapshots(pool, lane, sql, schema=schema)
        self._leases = Leases(lane, sql, schema=schema)

    # --- positions -----------------------------------------------------------

    @property
    def start_position(self) -> Position:
        return START

    def check_position(self, position: object) -> Position:
        return validate_position(position)

    # --- reading ---------------------------------------------------------------

    async def events_by_id(
        self, event_ids: Sequence[UUID], *, session: Any = None
    ) -> Mapping[UUID, RecordedEvent]:
        self._check_loop()
        return await self._reader.events_by_id(event_ids, session)

    def read_stream(self, request: StreamRead) -> AsyncIterator[RecordedEvent]:
        self._check_loop()
        return self._reader.read_stream(request)

    def read_global(self, request: GlobalRead) -> AsyncIterator[RecordedEvent]:
        self._check_loop()
        return self._reader.read_global(request)

    async def stream_version(self, stream_id: str) -> int:
        self._check_loop()
        return await self._reader.stream_version(stream_id)

    async def head_position(self) -> Position | None:
        self._check_loop()
        return await self._reader.head_position()

    def list_streams(self, request: StreamsRead) -> AsyncIterator[StreamInfo]:
        return self._reader.list_streams(request)

    # --- snapshots and checkpoints ---------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot, data: bytes) -> None:
        self._check_loop()
        await self._snapshots.save_snapshot(snapshot, data)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        self._check_loop()
        return await self._snapshots.load_snapshot(stream_id)

    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        self._check_loop()
        return await self._snapshots.load_checkpoint(subscription_id)

    async def save_checkpoint(self, subscription_id: str, position: Position) -> None:
        self._check_loop()
        await self._snapshots.save_checkpoint(subscription_id, position)

    async def save_checkpoint_if(
        self, subscription_id: str, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        self._check_loop()
        return await self._snapshots.save_checkpoint_if(
            subscription_id, position, expected=expected
        )

    async def delete_checkpoint(self, subscription_id: str) -> None:
        self._check_loop()
        await self._snapshots.delete_checkpoint(subscription_id)

    async def list_checkpoints(self) -> Mapping[str, Position]:
        return await self._snapshots.list_checkpoints()

    def transaction(self, subscription_id: str) -> AbstractAsyncContextManager[DriverTransaction]:
        self._check_loop()
        return self._snapshots.transaction(subscription_id)

    # --- leases -----------------------------------------------------------------

    async def acquire_lease(self, name: str, owner: str, ttl: float) -> LeaseOutcome:
        self._check_loop()
        return await self._leases.acquire(name, owner, ttl)

    async def release_lease(self, name: str, owner: str) -> None:
        self._check_loop()
        await self._leases.release(name, owner)

    async def lease_holders(self, prefix: str) -> Mapping[str, str]:
        self._check_loop()
        return await self._leases.holders(prefix)

    # --- live delivery and lifecycle -------------------------------------------

    async def wait_for_events(self, timeout: float) -> bool:
        """Wait for a NOTIFY from any process's append, or `timeout` seconds.

        LISTENs on one pool connection from the first call until `close`.
        """
        self._check_loop()
        return await self._listener.wait(timeout)

    async def close(self) -> None:
        await self._wait_for_groups()
        await self._lane.close()
        await self._notifier.close()
        await self._listener.close()
        if self._owns_pool:
            await self.pool.close()
