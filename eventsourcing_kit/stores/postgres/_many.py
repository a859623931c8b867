"""Appending to several streams at once: one transaction, every stream or none.

The request's streams go in one ``append_group()`` call (store/postgres/0010),
in a transaction of its own: a savepoint in the caller's, else on a pool
connection. The function locks every stream's row first, in stream-id
order as both group statements do, so that multi-stream appends and group
commits never deadlock on each other; then it checks and writes each
stream. A stream that does not hold its expected version (or whose first
event id is stored) is a conflict row: the transaction then rolls back, and
nothing of the other streams stays. Three round trips (BEGIN, the call,
COMMIT) whatever the number of streams. Never part of a group commit: a
group commits the appends of it that hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from eventsourcing_kit.stores.driver import (
    Appended,
    AppendOutcome,
    AppendResult,
    Position,
    Rejected,
    StreamWrite,
)
from eventsourcing_kit.stores.postgres._errors import DRIVER_ERRORS, translate_error
from eventsourcing_kit.stores.postgres._jsonb import jsonb_text
from eventsourcing_kit.stores.postgres._notify import Notifier, NotifyMode
from eventsourcing_kit.stores.postgres._queries import Queries
from eventsourcing_kit.stores.postgres._rows import LOST_RACE, expected_code

__all__ = ["append_many"]


class _RollBack(Exception):
    """Leaves the transaction with the append's outcome, so that it rolls back whole."""

    def __init__(self, outcome: Rejected) -> None:
        self.outcome = outcome


async def append_many(
    writes: Sequence[StreamWrite],
    connection: Any,
    *,
    pool: asyncpg.Pool,
    sql: Queries,
    notify: NotifyMode,
    notifier: Notifier,
    schema: str,
) -> AppendOutcome:
    """Write every stream of `writes` in one transaction, or none of them.

    On `connection` (the caller's, inside a savepoint) or a pool
    connection. NOTIFY as for any append: inside the caller's transaction,
    else as `notify` says (the caller sends an ``after_commit`` one).
    """
    ids: list[Any] = []
    types: list[str] = []
    datas: list[str] = []
    metadatas: list[str] = []
    for write in writes:
        for event, data, metadata in write.events:
            ids.append(event.event_id)
            types.append(event.event_type)
            datas.append(jsonb_text(data, event.data))
            metadatas.append(jsonb_text(metadata, event.metadata))
    args = (
        [write.stream_id for write in writes],
        [expected_code(write.expected) for write in writes],
        [len(write.events) for write in writes],
        ids,
        types,
        datas,
        metadatas,
    )
    try:
        if connection is not None:
            # Sent when the caller commits, as for a one-stream append on
            # its connection.
            notifying = notifier if notify is not NotifyMode.OFF else None
            async with connection.transaction():
                return await _write_all(connection, sql, writes, args, notifying)
        notifying = notifier if notify is NotifyMode.IN_TRANSACTION else None
        async with pool.acquire() as own, own.transaction():
            outcome = await _write_all(own, sql, writes, args, notifying)
    except _RollBack as rollback:
        return rollback.outcome
    except LOST_RACE as error:
        # The savepoint, or the transaction of our own, was rolled back:
        # the caller's transaction goes on.
        return Rejected(_culprit(error, writes))
    except DRIVER_ERRORS as error:
        raise translate_error(error, schema=schema) from error
    if notify is NotifyMode.COALESCED:
        notifier.poke()  # committed, not announced yet
    return outcome


async def _write_all(
    connection: Any,
    sql: Queries,
    writes: Sequence[StreamWrite],
    args: tuple[Any, ...],
    notifier: Notifier | None,
) -> Appended:
    rows = await connection.fetch(sql.append_group, *args)
    results = []
    for index, (write, (conflict, version, xid, position)) in enumerate(
        zip(writes, rows, strict=True)
    ):
        if conflict:
            raise _RollBack(Rejected(index, version))
        results.append(
            AppendResult(
                stream_id=write.stream_id,
                version=version,
                global_position=position,
                position=Position.pair(xid, position),
            )
        )
    if notifier is not None:
        await notifier.send(connection)
    return Appended(tuple(results))


def _culprit(error: BaseException, writes: Sequence[StreamWrite]) -> int:
    # The write whose event id a unique violation names (its detail reads
    # "Key (event_id)=(...) already exists."), else the first: the core
    # looks every id up before it blames a write's version.
    detail = getattr(error, "detail", None) or ""
    for index, write in enumerate(writes):
        for prepared in write.events:
            if str(prepared.event.event_id) in detail:
                return index
    return 0
