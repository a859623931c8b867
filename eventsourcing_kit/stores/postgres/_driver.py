"""The PostgreSQL driver: appends, reads, snapshots, checkpoints, live wake-ups."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg

from eventsourcing_kit.serialization import decode_json
from eventsourcing_kit.stores.driver import (
    AppendOutcome,
    AppendRequest,
    Driver,
    DriverTransaction,
    GlobalRead,
    Position,
    RecordedEvent,
    Snapshot,
    StreamRead,
)
from eventsourcing_kit.stores.postgres._appends import Appender
from eventsourcing_kit.stores.postgres._connect import QuietReset
from eventsourcing_kit.stores.postgres._errors import DRIVER_ERRORS, translate_error
from eventsourcing_kit.stores.postgres._jsonb import jsonb_text
from eventsourcing_kit.stores.postgres._lane import Lane
from eventsourcing_kit.stores.postgres._notify import Listener, Notifier, channel_for
from eventsourcing_kit.stores.postgres._options import PostgresOptions
from eventsourcing_kit.stores.postgres._positions import START, validate_position
from eventsourcing_kit.stores.postgres._queries import Queries
from eventsourcing_kit.stores.postgres._reads import Reader

__all__ = ["PostgresDriver"]


class _Transaction(DriverTransaction):
    """A checkpoint transaction on one pool connection."""

    def __init__(self, connection: Any, statement: str, subscription_id: str) -> None:
        self._connection = connection
        self._statement = statement
        self._subscription_id = subscription_id

    @property
    def connection(self) -> Any:
        """The pool's ``asyncpg.Connection`` (proxy) inside the transaction."""
        return self._connection

    async def save_checkpoint(self, position: Position) -> None:
        xid, global_position = validate_position(position)
        await self._connection.execute(self._statement, self._subscription_id, xid, global_position)


class PostgresDriver(Driver):
    """The storage of one store in one PostgreSQL schema."""

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
        self._sql = Queries.for_schema(schema)
        channel = channel_for(schema)
        self._notifier = Notifier(pool, channel, delay=options.notify_delay, connect=notify_connect)
        self._listener = Listener(pool, channel)
        self._lane = Lane(pool, quiet_reset=quiet_reset)
        self._reader = Reader(
            self._lane, self._sql, schema=schema, visibility_wait=options.visibility_wait
        )
        self._appender = Appender(
            pool,
            self._lane,
            self._sql,
            schema=schema,
            channel=channel,
            notify=options.notify,
            notifier=self._notifier,
            listener=self._listener,
            group_commit=options.group_commit,
        )

    # --- positions -----------------------------------------------------------

    @property
    def start_position(self) -> Position:
        return START

    def check_position(self, position: object) -> Position:
        return validate_position(position)

    # --- writing and reading ---------------------------------------------------

    async def append(self, request: AppendRequest) -> AppendOutcome:
        return await self._appender.append(request)

    async def events_by_id(
        self, event_ids: Sequence[UUID], *, session: Any = None
    ) -> Mapping[UUID, RecordedEvent]:
        return await self._reader.events_by_id(event_ids, session)

    def read_stream(self, request: StreamRead) -> AsyncIterator[RecordedEvent]:
        return self._reader.read_stream(request)

    def read_global(self, request: GlobalRead) -> AsyncIterator[RecordedEvent]:
        return self._reader.read_global(request)

    async def stream_version(self, stream_id: str) -> int:
        return await self._reader.stream_version(stream_id)

    async def head_position(self) -> Position | None:
        return await self._reader.head_position()

    # --- snapshots and checkpoints ---------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot, data: bytes) -> None:
        await self._reader.fetch(
            self._sql.save_snapshot,
            snapshot.stream_id,
            snapshot.version,
            snapshot.state_schema,
            jsonb_text(data, snapshot.data),
        )

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        row = await self._reader.fetchrow(self._sql.load_snapshot, stream_id)
        if row is None:
            return None
        return Snapshot(
            stream_id=row[0],
            version=row[1],
            state_schema=row[2],
            data=decode_json(row[3]),
            recorded_at=row[4],
        )

    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        row = await self._reader.fetchrow(self._sql.load_checkpoint, subscription_id)
        return None if row is None else Position(row[0], row[1])

    async def save_checkpoint(self, subscription_id: str, position: Position) -> None:
        xid, global_position = validate_position(position)
        await self._reader.fetch(self._sql.save_checkpoint, subscription_id, xid, global_position)

    async def delete_checkpoint(self, subscription_id: str) -> None:
        await self._reader.fetch(self._sql.delete_checkpoint, subscription_id)

    def transaction(self, subscription_id: str) -> Any:
        return self._transaction(subscription_id)

    @asynccontextmanager
    async def _transaction(self, subscription_id: str) -> AsyncIterator[DriverTransaction]:
        try:
            async with self.pool.acquire() as connection, connection.transaction():
                yield _Transaction(connection, self._sql.save_checkpoint, subscription_id)
        except DRIVER_ERRORS as error:
            raise translate_error(error, schema=self.schema) from error

    # --- live delivery and lifecycle -------------------------------------------

    async def wait_for_events(self, timeout: float) -> bool:
        """Wait for a NOTIFY from any process's append, or `timeout` seconds.

        LISTENs on one pool connection from the first call until `close`.
        """
        return await self._listener.wait(timeout)

    async def close(self) -> None:
        await self._appender.close()
        await self._lane.close()
        await self._notifier.close()
        await self._listener.close()
        if self._owns_pool:
            await self.pool.close()
