"""The load scenarios' reference: raw asyncpg reads of one stream, decoded and folded.

No repository and no typed events: one SELECT of the stream's event types
and data in version order, ``orjson.loads`` of each, and a fold of the dicts
into the balance; with snapshots, one SELECT of the stream's snapshot row
first and the events after it. The events table is the kit-shaped one of
_pg_raw.py; the snapshots table is _pg_load_raw_snapshots.sql.
"""

from __future__ import annotations

import pathlib
import uuid

import _pg_load_common as load
import _pg_raw as raw
import asyncpg
import orjson
from _pg_common import Stopwatch, Timing, dsn

_SNAPSHOTS = pathlib.Path(__file__).parent / "_pg_load_raw_snapshots.sql"
_INSERT = (
    "INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
_UPSERT_SNAPSHOT = (
    "INSERT INTO snapshots (stream_id, version, data) VALUES ($1, $2, $3)"
    " ON CONFLICT (stream_id) DO UPDATE SET version = excluded.version, data = excluded.data"
)
_SELECT_STREAM = (
    "SELECT event_type, data FROM events WHERE stream_id = $1 AND version > $2 ORDER BY version"
)
_SELECT_SNAPSHOT = "SELECT version, data FROM snapshots WHERE stream_id = $1"


class Loader:
    """The raw reference's aggregate in one schema, and its timed loads."""

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.stream_id = f"Account-{uuid.uuid4()}"
        self.balance = 0
        self._conn: asyncpg.Connection | None = None

    async def _connect(self) -> asyncpg.Connection:
        # application_name lets the Stopwatch find the backend serving the loads.
        return await asyncpg.connect(
            dsn(), server_settings={"search_path": self.schema, "application_name": self.schema}
        )

    async def open(self) -> None:
        await raw.install(self.schema, "raw")
        self._conn = await self._connect()
        await self._conn.execute(_SNAPSHOTS.read_text())

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()

    async def append(self, events: list[load.AggregateEvent]) -> None:
        """Save `events` in saves of SAVE_SIZE, with a snapshot row at every interval."""
        assert self._conn is not None
        for save in load.saves(events):
            async with self._conn.transaction():
                await self._conn.executemany(
                    _INSERT,
                    [
                        (
                            uuid.uuid4(),
                            self.stream_id,
                            e.version,
                            e.event_type,
                            orjson.dumps(e.data).decode(),
                            orjson.dumps(e.metadata).decode(),
                        )
                        for e in save
                    ],
                )
            self.balance += load.balance(save)
            version = save[-1].version
            if version % load.SNAPSHOT_EVERY == 0:
                state = orjson.dumps({"balance": self.balance}).decode()
                await self._conn.execute(_UPSERT_SNAPSHOT, self.stream_id, version, state)

    async def _load(self, conn: asyncpg.Connection, *, snapshots: bool) -> int:
        loads = orjson.loads
        balance, after = 0, 0
        if snapshots:
            row = await conn.fetchrow(_SELECT_SNAPSHOT, self.stream_id)
            if row is not None:
                after, balance = row[0], loads(row[1])["balance"]
        for event_type, data in await conn.fetch(_SELECT_STREAM, self.stream_id, after):
            decoded = loads(data)
            if event_type == "Opened":
                balance = decoded["amount"]
            elif event_type == "Deposited":
                balance += decoded["amount"]
        return balance

    async def measure(self, loads: int, *, snapshots: bool) -> Timing:
        """`loads` loads of the aggregate, one after the other, on a new connection.

        A new connection each time: one that ran the stream's prepared
        SELECT for the whole stream (``load``) may keep a generic plan that
        scans this one-stream table for the tail too (``load_snapshots``),
        a cost no table of many streams would show.
        """
        conn = await self._connect()
        try:
            assert await self._load(conn, snapshots=snapshots) == self.balance  # warm, check
            watch = Stopwatch(self.schema)
            for _ in range(loads):
                await self._load(conn, snapshots=snapshots)
            return watch.stop()
        finally:
            await conn.close()
