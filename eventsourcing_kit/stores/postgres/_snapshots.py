"""Snapshots and subscription checkpoints: one row per stream, one per subscription.

A snapshot replaces the stream's kept one only when it is as new or newer
(``save_snapshot``'s ``WHERE``), so a slow writer never takes a newer
snapshot back. Its data travels as JSON text (`jsonb_text`): JSONB keeps
what the encoder wrote, whatever codecs the pool's owner installed.
Checkpoints are positions, ``(transaction id, global position)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import asyncpg

from eventsourcing_kit.serialization import decode_json
from eventsourcing_kit.stores.driver import (
    CheckpointFenced,
    CheckpointOutcome,
    CheckpointSaved,
    DriverTransaction,
    Position,
    Snapshot,
)
from eventsourcing_kit.stores.postgres._errors import DRIVER_ERRORS, translate_error
from eventsourcing_kit.stores.postgres._jsonb import jsonb_text
from eventsourcing_kit.stores.postgres._lane import READ_RETRY_FOR, Lane
from eventsourcing_kit.stores.postgres._positions import validate_position
from eventsourcing_kit.stores.postgres._queries import Queries

__all__ = ["Snapshots"]


def _arguments(
    subscription_id: str, position: Position, expected: Position | None
) -> tuple[object, ...]:
    """save_checkpoint_if()'s arguments (store/postgres/0011)."""
    xid, global_position = validate_position(position).parts
    if expected is None:
        return (subscription_id, xid, global_position, None, None)
    return (subscription_id, xid, global_position, *validate_position(expected).parts)


def _outcome(row: Any) -> CheckpointOutcome:
    saved, xid, global_position = row
    if saved:
        return CheckpointSaved()
    return CheckpointFenced(None if xid is None else Position.pair(xid, global_position))


class _CheckpointTransaction(DriverTransaction):
    """A checkpoint transaction on one pool connection."""

    def __init__(self, connection: Any, sql: Queries, subscription_id: str) -> None:
        self._connection = connection
        self._sql = sql
        self._subscription_id = subscription_id

    @property
    def connection(self) -> Any:
        """The pool's ``asyncpg.Connection`` (proxy) inside the transaction."""
        return self._connection

    async def save_checkpoint(self, position: Position) -> None:
        xid, global_position = validate_position(position).parts
        await self._connection.execute(
            self._sql.save_checkpoint, self._subscription_id, xid, global_position
        )

    async def save_checkpoint_if(
        self, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        # In the transaction: the row lock the function takes lasts until
        # the COMMIT, so the comparison still holds then.
        row = await self._connection.fetchrow(
            self._sql.save_checkpoint_if, *_arguments(self._subscription_id, position, expected)
        )
        return _outcome(row)


class Snapshots:
    """The snapshot and checkpoint statements of one store."""

    def __init__(self, pool: asyncpg.Pool, lane: Lane, sql: Queries, *, schema: str) -> None:
        self._pool = pool
        self._lane = lane
        self._sql = sql
        self._schema = schema

    async def _fetch(
        self, query: str, *args: Any, retry: bool = True, retry_for: float = 0.0
    ) -> list[Any]:
        try:
            return await self._lane.fetch(query, *args, retry=retry, retry_for=retry_for)
        except DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error

    async def _fetchrow(
        self, query: str, *args: Any, retry: bool = True, retry_for: float = 0.0
    ) -> Any:
        try:
            return await self._lane.fetchrow(query, *args, retry=retry, retry_for=retry_for)
        except DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error

    # --- snapshots -------------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot, data: bytes) -> None:
        """Keep `snapshot` (its data encoded as `data`) unless a newer one is kept."""
        await self._fetch(
            self._sql.save_snapshot,
            snapshot.stream_id,
            snapshot.version,
            snapshot.state_schema,
            jsonb_text(data, snapshot.data),
        )

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        """The stream's kept snapshot, or None."""
        row = await self._fetchrow(self._sql.load_snapshot, stream_id, retry_for=READ_RETRY_FOR)
        if row is None:
            return None
        stream_id, version, state_schema, data, recorded_at = row
        return Snapshot(
            stream_id=stream_id,
            version=version,
            state_schema=state_schema,
            data=decode_json(data),
            recorded_at=recorded_at,
        )

    # --- checkpoints -----------------------------------------------------------

    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        """The subscription's stored position, or None."""
        row = await self._fetchrow(
            self._sql.load_checkpoint, subscription_id, retry_for=READ_RETRY_FOR
        )
        if row is None:
            return None
        xid, global_position = row
        return Position.pair(xid, global_position)

    async def save_checkpoint(self, subscription_id: str, position: Position) -> None:
        """Store the subscription's position."""
        xid, global_position = validate_position(position).parts
        # Not sent again after a dead connection: the first try may have
        # committed, and another runner stored a later checkpoint since.
        await self._fetch(
            self._sql.save_checkpoint, subscription_id, xid, global_position, retry=False
        )

    async def save_checkpoint_if(
        self, subscription_id: str, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        """Store the position if the stored one is `expected` (one atomic statement)."""
        # Not sent again: a first try that committed would fence the second,
        # which would report this runner's own write as another's.
        row = await self._fetchrow(
            self._sql.save_checkpoint_if,
            *_arguments(subscription_id, position, expected),
            retry=False,
        )
        return _outcome(row)

    async def delete_checkpoint(self, subscription_id: str) -> None:
        """Forget the subscription's position."""
        await self._fetch(self._sql.delete_checkpoint, subscription_id)

    async def list_checkpoints(self) -> dict[str, Position]:
        """Every stored checkpoint, by subscription id."""
        rows = await self._fetch(self._sql.list_checkpoints, retry_for=READ_RETRY_FOR)
        return {name: Position.pair(xid, global_position) for name, xid, global_position in rows}

    def transaction(self, subscription_id: str) -> AbstractAsyncContextManager[DriverTransaction]:
        """A transaction on one pool connection that ends by storing the checkpoint."""
        return self._transaction(subscription_id)

    @asynccontextmanager
    async def _transaction(self, subscription_id: str) -> AsyncIterator[DriverTransaction]:
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                yield _CheckpointTransaction(connection, self._sql, subscription_id)
        except DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error
