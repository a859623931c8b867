"""Plain asyncpg writes and reads of the same rows, no event store.

Two tables, both defined by the benchmark's own SQL so that neither moves
with the package: ``raw``, the kit's columns and reader indexes (the
reference the kit is measured against), and ``floor``, the bare table
reported beside it. Each function sets up outside the clock, times only the
workload and returns what it cost. JSON encoding is inside the clock (the
stores encode too).
"""

from __future__ import annotations

import asyncio
import pathlib

import asyncpg
import orjson
from _pg_common import Event, Stopwatch, Timing, dsn, warmup_plan

_HERE = pathlib.Path(__file__).parent
TABLES = {"raw": _HERE / "_pg_raw_table.sql", "floor": _HERE / "_pg_floor.sql"}
"""Which table a raw system writes: the kit's shape, or the bare floor."""

_INSERT = (
    "INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
_COLUMNS = ["event_id", "stream_id", "version", "event_type", "data", "metadata"]
_FIELDS = "global_position, event_id, stream_id, version, event_type, data, metadata, recorded_at"
_SELECT = f"SELECT {_FIELDS} FROM events ORDER BY global_position"
_SELECT_PAGE = (
    f"SELECT {_FIELDS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2"
)


async def _connect(schema: str) -> asyncpg.Connection:
    # application_name lets the Stopwatch find the backends serving this run.
    return await asyncpg.connect(
        dsn(), server_settings={"search_path": schema, "application_name": schema}
    )


async def install(schema: str, table: str) -> None:
    """Create the `table` of `TABLES` ("raw" or "floor") in `schema`."""
    conn = await _connect(schema)
    try:
        await conn.execute(TABLES[table].read_text())
    finally:
        await conn.close()


def _row(e: Event) -> tuple[object, ...]:
    # asyncpg's default jsonb codec takes text: encode with orjson, as the kit does.
    return (
        e.event_id,
        e.stream_id,
        e.version,
        e.event_type,
        orjson.dumps(e.data).decode(),
        orjson.dumps(e.metadata).decode(),
    )


async def single(schema: str, plan: list[Event]) -> Timing:
    """One INSERT per transaction (autocommit), one after the other."""
    conn = await _connect(schema)
    try:
        await conn.execute(_INSERT, *_row(warmup_plan(1)[0]))
        watch = Stopwatch(schema)
        for e in plan:
            await conn.execute(_INSERT, *_row(e))
        return watch.stop()
    finally:
        await conn.close()


async def batch_executemany(schema: str, plan: list[list[Event]]) -> Timing:
    """Each batch in one transaction through executemany."""
    conn = await _connect(schema)
    try:
        await conn.executemany(_INSERT, [_row(e) for e in warmup_plan(2)])
        watch = Stopwatch(schema)
        for batch in plan:
            async with conn.transaction():
                await conn.executemany(_INSERT, [_row(e) for e in batch])
        return watch.stop()
    finally:
        await conn.close()


async def batch_copy(schema: str, plan: list[list[Event]]) -> Timing:
    """Each batch in one transaction through COPY (binary protocol)."""
    conn = await _connect(schema)
    try:
        await conn.copy_records_to_table(
            "events", records=[_row(e) for e in warmup_plan(2)], columns=_COLUMNS
        )
        watch = Stopwatch(schema)
        for batch in plan:
            async with conn.transaction():
                await conn.copy_records_to_table(
                    "events", records=[_row(e) for e in batch], columns=_COLUMNS
                )
        return watch.stop()
    finally:
        await conn.close()


async def concurrent(schema: str, plans: list[list[Event]], *, table_lock: bool = False) -> Timing:
    """One writer per plan, each on its own connection and stream.

    `table_lock`: every transaction first takes LOCK TABLE ... IN EXCLUSIVE
    MODE, as pyeventsourcing does to make commit order equal insert order:
    the cost of a design that serializes writers.
    """
    conns = await asyncio.gather(*(_connect(schema) for _ in plans))
    try:

        async def write(conn: asyncpg.Connection, events: list[Event]) -> None:
            for e in events:
                if table_lock:
                    async with conn.transaction():
                        await conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
                        await conn.execute(_INSERT, *_row(e))
                else:
                    await conn.execute(_INSERT, *_row(e))

        await asyncio.gather(
            *(write(c, [w]) for c, w in zip(conns, warmup_plan(len(conns)), strict=True))
        )
        watch = Stopwatch(schema)
        await asyncio.gather(*(write(c, p) for c, p in zip(conns, plans, strict=True)))
        return watch.stop()
    finally:
        await asyncio.gather(*(c.close() for c in conns))


async def seed(schema: str, plan: list[list[Event]]) -> None:
    conn = await _connect(schema)
    try:
        async with conn.transaction():
            await conn.copy_records_to_table(
                "events", records=[_row(e) for batch in plan for e in batch], columns=_COLUMNS
            )
        await conn.execute("VACUUM ANALYZE events")
    finally:
        await conn.close()


async def read(schema: str, expected: int) -> Timing:
    """Fetch every row in global order in one query and decode its JSON."""
    conn = await _connect(schema)
    try:
        loads = orjson.loads
        watch = Stopwatch(schema)
        rows = await conn.fetch(_SELECT)
        decoded = [(r[0], r[1], r[2], r[3], r[4], loads(r[5]), loads(r[6]), r[7]) for r in rows]
        elapsed = watch.stop()
        assert len(decoded) == expected, (len(decoded), expected)
        return elapsed
    finally:
        await conn.close()


async def read_paged(schema: str, expected: int, *, page: int = 500) -> Timing:
    """Like `read`, but in keyset pages of `page` rows, as a streaming reader must."""
    conn = await _connect(schema)
    try:
        loads = orjson.loads
        decoded = []
        watch = Stopwatch(schema)
        after = 0
        while True:
            rows = await conn.fetch(_SELECT_PAGE, after, page)
            decoded.extend(
                (r[0], r[1], r[2], r[3], r[4], loads(r[5]), loads(r[6]), r[7]) for r in rows
            )
            if len(rows) < page:
                break
            after = rows[-1][0]
        elapsed = watch.stop()
        assert len(decoded) == expected, (len(decoded), expected)
        return elapsed
    finally:
        await conn.close()
