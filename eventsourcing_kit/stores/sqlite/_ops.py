"""The SQLite store's work, as plain functions run on its worker threads.

Each function takes the connection first and does one whole operation (an
append is one call: lock, check, insert, commit), so an operation costs one
hop from the event loop to the thread and back. SQL strings are constants so
that sqlite3's statement cache prepares each of them once per connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing_kit.serialization import decode_json as loads
from eventsourcing_kit.stores.driver import (
    Appended,
    AppendOutcome,
    AppendResult,
    CheckpointFenced,
    CheckpointOutcome,
    CheckpointSaved,
    Position,
    RecordedEvent,
    Rejected,
    Snapshot,
    StreamInfo,
    StreamWrite,
    expected_version_holds,
)

__all__ = [
    "append",
    "begin",
    "delete_checkpoint",
    "end",
    "events_by_id",
    "fetch_events",
    "head_position",
    "list_checkpoints",
    "list_streams",
    "load_checkpoint",
    "load_snapshot",
    "save_checkpoint",
    "save_checkpoint_if",
    "save_snapshot",
    "select_events",
    "stream_version",
    "writing",
]

_COLUMNS = "global_position, stream_id, version, event_type, data, metadata, event_id, recorded_at"
_STREAM_VERSION = "SELECT version FROM events WHERE stream_id = ? ORDER BY version DESC LIMIT 1"
# One page of streams after a stream id, from the (stream_id, version) index.
_STREAMS = (
    "SELECT stream_id, max(version) FROM events WHERE stream_id > ?"
    " GROUP BY stream_id ORDER BY stream_id LIMIT ?"
)
_CATEGORY_STREAMS = (
    "SELECT stream_id, max(version) FROM events WHERE stream_id > ? AND category = ?"
    " GROUP BY stream_id ORDER BY stream_id LIMIT ?"
)
_INSERT = (
    "INSERT INTO events (stream_id, category, version, event_type, data, metadata, event_id,"
    " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_BY_IDS_PAGE = 500  # below SQLite's smallest limit on bound parameters (999)
_SAVEPOINT = "eventsourcing_kit_write"
# Builds a Position without its checks, from a rowid the database gave.
_int_new = int.__new__


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


# --- transactions ---------------------------------------------------------------


def begin(connection: sqlite3.Connection) -> None:
    """Take the write lock now (waiting up to busy_timeout for other processes).

    IMMEDIATE, not the default DEFERRED: a deferred transaction that reads the
    stream version and then writes must upgrade its lock, and when another
    writer got there first SQLite fails it at once with SQLITE_BUSY instead of
    waiting. Taking the lock first makes check-then-insert atomic across
    connections and processes.
    """
    connection.execute("BEGIN IMMEDIATE")


def end(connection: sqlite3.Connection, *, commit: bool) -> None:
    """Commit or roll back the open transaction, if there is one."""
    if connection.in_transaction:
        connection.execute("COMMIT" if commit else "ROLLBACK")


@contextmanager
def writing(connection: sqlite3.Connection, *, nested: bool) -> Iterator[None]:
    """One write: its own transaction, or a savepoint inside the caller's.

    `nested` is true inside a checkpoint transaction, whose handler may append
    or save through the store: its writes then commit with the checkpoint, and
    a failed write undoes only itself.
    """
    if nested:
        connection.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            yield
        except BaseException:
            connection.execute(f"ROLLBACK TO {_SAVEPOINT}")
            connection.execute(f"RELEASE {_SAVEPOINT}")
            raise
        connection.execute(f"RELEASE {_SAVEPOINT}")
        return
    begin(connection)
    try:
        yield
    except BaseException:
        end(connection, commit=False)
        raise
    end(connection, commit=True)


# --- appending ------------------------------------------------------------------


def events_by_id(
    connection: sqlite3.Connection, event_ids: Sequence[UUID]
) -> dict[UUID, RecordedEvent]:
    """The stored events among `event_ids`."""
    ids = [event_id.bytes for event_id in event_ids]
    found: dict[UUID, RecordedEvent] = {}
    for start in range(0, len(ids), _BY_IDS_PAGE):
        chunk = ids[start : start + _BY_IDS_PAGE]
        sql = f"SELECT {_COLUMNS} FROM events WHERE event_id IN ({', '.join('?' * len(chunk))})"
        for row in connection.execute(sql, chunk):
            record = _record(row)
            found[record.event_id] = record
    return found


class _Rejection(Exception):
    """Leaves the write block, so that what was inserted is rolled back."""

    def __init__(self, outcome: Rejected) -> None:
        self.outcome = outcome


def append(
    connection: sqlite3.Connection, writes: Sequence[StreamWrite], *, nested: bool
) -> AppendOutcome:
    """Append every write atomically, or none (`Driver.append`).

    A plain append pays no query for idempotency: only a rejected one is
    looked up, by the core, afterwards.
    """
    try:
        with writing(connection, nested=nested):
            return Appended(
                tuple(_append_one(connection, index, write) for index, write in enumerate(writes))
            )
    except _Rejection as rejection:
        return rejection.outcome


def _append_one(connection: sqlite3.Connection, index: int, write: StreamWrite) -> AppendResult:
    stream_id = write.stream_id
    row = connection.execute(_STREAM_VERSION, (stream_id,)).fetchone()
    actual = 0 if row is None else int(row[0])
    if not expected_version_holds(write.expected, actual):
        raise _Rejection(Rejected(index, actual))
    category = stream_id.partition("-")[0]
    recorded_at = _now()
    rows = [
        (
            stream_id,
            category,
            actual + number,
            prepared.event.event_type,
            prepared.data.decode(),
            prepared.metadata.decode(),
            prepared.event.event_id.bytes,
            recorded_at,
        )
        for number, prepared in enumerate(write.events, start=1)
    ]
    try:
        if len(rows) == 1:
            last = connection.execute(_INSERT, rows[0]).lastrowid
        else:
            connection.executemany(_INSERT, rows)
            last = connection.execute("SELECT last_insert_rowid()").fetchone()[0]
    except sqlite3.IntegrityError:
        # An event id stored already, or a (stream_id, version) taken by a
        # writer outside this store's lock: the core tells which.
        raise _Rejection(Rejected(index)) from None
    assert last is not None
    return AppendResult(
        stream_id=stream_id,
        version=actual + len(rows),
        global_position=last,
        position=_int_new(Position, last),
    )


# --- reading --------------------------------------------------------------------


def _record(row: Any) -> RecordedEvent:
    position, stream_id, version, event_type, data, metadata, event_id, recorded_at = row
    return RecordedEvent(
        stream_id=stream_id,
        version=version,
        event_type=event_type,
        data=loads(data),
        metadata=loads(metadata),
        event_id=UUID(bytes=event_id),
        global_position=position,
        recorded_at=datetime.fromisoformat(recorded_at),
    )


def select_events(
    *,
    stream: bool = False,
    category: bool = False,
    type_count: int | None = None,
    partition: bool = False,
) -> str:
    """The keyset-paged query of one reader (its last parameter is the page size).

    Parameters, in order: stream_id and from_version for a stream; otherwise
    the category (if any), the exclusive start position, the event types,
    the partition's count and index (if any: ``stream_partition()``, which
    `open_connection` registers on every connection).
    """
    if stream:
        return (
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = ? AND version >= ?"
            " ORDER BY version LIMIT ?"
        )
    where = ["category = ?"] if category else []
    where.append("global_position > ?")
    if type_count is not None:
        where.append(f"event_type IN ({', '.join('?' * type_count)})")
    if partition:
        where.append("stream_partition(stream_id, ?) = ?")
    return (
        f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)}"
        " ORDER BY global_position LIMIT ?"
    )


def fetch_events(
    connection: sqlite3.Connection, sql: str, parameters: Sequence[object]
) -> list[RecordedEvent]:
    """One page of events, decoded here so the event loop only hands them out."""
    return [_record(row) for row in connection.execute(sql, parameters)]


def stream_version(connection: sqlite3.Connection, stream_id: str) -> int:
    row = connection.execute(_STREAM_VERSION, (stream_id,)).fetchone()
    return 0 if row is None else int(row[0])


def list_streams(
    connection: sqlite3.Connection, after: str, category: str | None, limit: int
) -> list[StreamInfo]:
    """One page of streams after the stream id `after`, in stream id order.

    Walks the (stream_id, version) index of events_stream_version from
    `after` on, reading each stream's last version.
    """
    if category is None:
        rows = connection.execute(_STREAMS, (after, limit))
    else:
        rows = connection.execute(_CATEGORY_STREAMS, (after, category, limit))
    return [StreamInfo(stream_id=stream_id, version=int(version)) for stream_id, version in rows]


def head_position(connection: sqlite3.Connection) -> Position | None:
    value = connection.execute("SELECT max(global_position) FROM events").fetchone()[0]
    return None if value is None else Position(int(value))


# --- snapshots and checkpoints --------------------------------------------------


def save_snapshot(
    connection: sqlite3.Connection, snapshot: Snapshot, data: bytes, *, nested: bool
) -> None:
    """Keep the snapshot unless the stored one is of a later version."""
    with writing(connection, nested=nested):
        connection.execute(
            "INSERT INTO snapshots (stream_id, version, state_schema, data, recorded_at)"
            " VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version,"
            " state_schema = excluded.state_schema, data = excluded.data,"
            " recorded_at = excluded.recorded_at"
            " WHERE excluded.version >= snapshots.version",
            (snapshot.stream_id, snapshot.version, snapshot.state_schema, data.decode(), _now()),
        )


def load_snapshot(connection: sqlite3.Connection, stream_id: str) -> Snapshot | None:
    row = connection.execute(
        "SELECT version, state_schema, data, recorded_at FROM snapshots WHERE stream_id = ?",
        (stream_id,),
    ).fetchone()
    if row is None:
        return None
    version, state_schema, data, recorded_at = row
    return Snapshot(
        stream_id=stream_id,
        version=version,
        state_schema=state_schema,
        data=loads(data),
        recorded_at=datetime.fromisoformat(recorded_at),
    )


def save_checkpoint(
    connection: sqlite3.Connection, subscription_id: str, position: Position, *, nested: bool
) -> None:
    with writing(connection, nested=nested):
        connection.execute(
            "INSERT INTO subscription_checkpoints (subscription_id, position, updated_at)"
            " VALUES (?, ?, ?) ON CONFLICT (subscription_id) DO UPDATE SET"
            " position = excluded.position, updated_at = excluded.updated_at",
            (subscription_id, int(position), _now()),
        )


def save_checkpoint_if(
    connection: sqlite3.Connection,
    subscription_id: str,
    position: Position,
    expected: Position | None,
    *,
    nested: bool,
) -> CheckpointOutcome:
    """Store `position` if the stored checkpoint is `expected`; else say where it is.

    Atomic across processes: it runs in a ``BEGIN IMMEDIATE`` transaction (or
    in the caller's), which holds the file's write lock from the read to the
    commit.
    """
    with writing(connection, nested=nested):
        actual = load_checkpoint(connection, subscription_id)
        if actual != expected:
            return CheckpointFenced(actual)
        save_checkpoint(connection, subscription_id, position, nested=True)
        return CheckpointSaved()


def load_checkpoint(connection: sqlite3.Connection, subscription_id: str) -> Position | None:
    row = connection.execute(
        "SELECT position FROM subscription_checkpoints WHERE subscription_id = ?",
        (subscription_id,),
    ).fetchone()
    return None if row is None else Position(int(row[0]))


def delete_checkpoint(
    connection: sqlite3.Connection, subscription_id: str, *, nested: bool
) -> None:
    with writing(connection, nested=nested):
        connection.execute(
            "DELETE FROM subscription_checkpoints WHERE subscription_id = ?", (subscription_id,)
        )


def list_checkpoints(connection: sqlite3.Connection) -> dict[str, Position]:
    rows = connection.execute("SELECT subscription_id, position FROM subscription_checkpoints")
    return {subscription_id: Position(int(position)) for subscription_id, position in rows}
