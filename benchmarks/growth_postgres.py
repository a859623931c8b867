"""Growth curves on PostgreSQL: append and stream-read latency as the events table grows.

    .venv/bin/python benchmarks/growth_postgres.py            # 0, 1M, 5M, 10M rows; ~30 min
    .venv/bin/python benchmarks/growth_postgres.py --quick    # tiny sizes, results to $TMPDIR

Three tables grow side by side, each in a schema of its own (dropped at the
end): the kit's (migrated by the store, so with its indexes, `streams` and
trigger), the raw reference (_pg_raw_table.sql: the kit's columns and
indexes) and the bare floor (_pg_floor.sql). Each is prefilled in SQL with
the same synthetic history (_growth_prefill.sql: streams of ten events
spread over each million rows). At each size the three systems run the same
workload, interleaved, repetitions rotated:

- ``single``: one-event appends (new streams, then their next versions; the
  kit with an exact expected version);
- ``batch100``: appends of 100 events to new streams;
- ``read_new``: reading back each 100-event stream just written;
- ``read_old``: reading prefilled 10-event streams picked at random (their
  rows are spread over the table, not in cache), from 1M rows on.

Writes results/growth_postgres.json: per size, system and operation the
median, p99 and max latency, and the kit / raw ratios; the growth of each
curve (its latency at the size over its latency on the empty table).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import pathlib
import random
import time
import uuid
from collections.abc import Callable
from typing import Any

import _context as context
import _growth_common as growth
import _pg_common as common
import _pg_kit as kit
import _pg_raw as raw
import _scale_common as scale
import asyncpg
import attrs
import orjson
import structlog

from eventsourcing_kit import NewEvent, PostgresEventStore

HERE = pathlib.Path(__file__).parent
PREFILL = (HERE / "_growth_prefill.sql").read_text()
PREFILL_STREAMS = (HERE / "_growth_prefill_streams.sql").read_text()
SYSTEMS = ("kit", "raw", "floor")
PREFILL_STEP = 20_000
"""Rows per prefill transaction: well under a second, far below the kit's
visibility_wait, so that other sessions' readers are delayed, never cut short."""
_INSERT = (
    "INSERT INTO events (event_id, stream_id, version, event_type, data, metadata)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
_READ_STREAM = (
    "SELECT global_position, event_id, stream_id, version, event_type, data, metadata, "
    "recorded_at FROM events WHERE stream_id = $1 AND version >= $2 ORDER BY version LIMIT $3"
)


async def _prefill(
    schema: str, first: int, last: int, sizes: growth.Sizes, *, kit_schema: bool
) -> None:
    conn = await asyncpg.connect(common.dsn(), server_settings={"search_path": schema})
    try:
        for start in range(first, last, sizes.chunk):
            chunk = start // sizes.chunk
            end = min(start + sizes.chunk, last) - 1
            # Short transactions: a long one would hold back every reader
            # of the global order on the server, other sessions' included.
            for low in range(start, end + 1, PREFILL_STEP):
                high = min(low + PREFILL_STEP - 1, end)
                await conn.execute(PREFILL, low, high, chunk, sizes.streams_per_chunk, start)
            if kit_schema:
                per_stream = sizes.chunk // sizes.streams_per_chunk
                await conn.execute(PREFILL_STREAMS, chunk, sizes.streams_per_chunk, per_stream)
        await conn.execute("ANALYZE events")
        if kit_schema:
            await conn.execute("ANALYZE streams")
    finally:
        await conn.close()


class _Kit:
    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store

    async def append_one(self, stream: str, n: int, expected: int) -> None:
        data, metadata = common.payload(n)
        await self.store.append_events(
            stream, [NewEvent("Deposited", data, metadata=metadata)], expected_version=expected
        )

    async def append_batch(self, stream: str, n: int) -> None:
        events = [NewEvent("Deposited", *common.payload(n + i)) for i in range(100)]
        await self.store.append_events(stream, events, expected_version=0)

    async def read(self, stream: str) -> int:
        return len([e async for e in self.store.read_stream(stream)])


class _Raw:
    """The same operations as plain asyncpg statements on the raw or floor table."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    async def append_one(self, stream: str, n: int, expected: int) -> None:
        data, metadata = common.payload(n)
        await self.conn.execute(
            _INSERT,
            uuid.uuid4(),
            stream,
            expected + 1,
            "Deposited",
            orjson.dumps(data).decode(),
            orjson.dumps(metadata).decode(),
        )

    async def append_batch(self, stream: str, n: int) -> None:
        rows = []
        for i in range(100):
            data, metadata = common.payload(n + i)
            rows.append(
                (
                    uuid.uuid4(),
                    stream,
                    i + 1,
                    "Deposited",
                    orjson.dumps(data).decode(),
                    orjson.dumps(metadata).decode(),
                )
            )
        async with self.conn.transaction():
            await self.conn.executemany(_INSERT, rows)

    async def read(self, stream: str) -> int:
        loads = orjson.loads
        rows = await self.conn.fetch(_READ_STREAM, stream, 1, 500)
        return len([(r[0], r[1], r[2], r[3], r[4], loads(r[5]), loads(r[6]), r[7]) for r in rows])


TWINS = {"kit_empty": "kit", "raw_empty": "raw"}
"""At every size above 0, fresh empty tables measured in the same rounds: a
curve's growth is its latency at the size over its empty twin's, same run,
so that load on the machine between two sizes does not pass for growth."""


async def _raw_conn(schema: str, table: str) -> asyncpg.Connection:
    await common.create_schema(schema)
    await raw.install(schema, table)
    return await asyncpg.connect(common.dsn(), server_settings={"search_path": schema})


async def _point(
    systems: dict[str, Any], size: int, sizes: growth.Sizes, rng: random.Random
) -> dict[str, Any]:
    """Every system's workload at this size, interleaved; latencies summarized."""
    names = list(systems)
    latencies = {name: {op: [] for op in growth.OPERATIONS} for name in names}
    # The empty twins have no prefilled streams to read back.
    sized = {name: 0 if name in TWINS else size for name in names}
    # Warm-up, untimed: statements prepared, the table's upper pages cached.
    for name in names:
        scratch: growth.Latencies = {op: [] for op in growth.OPERATIONS}
        await growth.workload(systems[name], name, sized[name], sizes, rng, scratch)
    for rep in range(sizes.repetitions):
        for name in growth.rotate(names, rep):
            await growth.workload(systems[name], name, sized[name], sizes, rng, latencies[name])
    return {
        name: {op: scale.latency_summary(v) for op, v in ops.items() if v}
        for name, ops in latencies.items()
    }


async def measure(sizes: growth.Sizes, progress: Callable[[str], None] = print) -> dict[str, Any]:
    schemas = {name: common.new_schema_name(f"growth_{name}") for name in SYSTEMS}
    per_point: dict[str, Any] = {}
    prefill_seconds: dict[str, float] = {}
    rng = random.Random(15)
    try:
        store = await kit.open_store(schemas["kit"], pool_size=2)
        conns = {table: await _raw_conn(schemas[table], table) for table in ("raw", "floor")}
        systems: dict[str, Any] = {
            "kit": _Kit(store),
            "raw": _Raw(conns["raw"]),
            "floor": _Raw(conns["floor"]),
        }
        filled = 0
        for size in sizes.points:
            if size > filled:
                started = time.perf_counter()
                # The three tables side by side, each on its own connection.
                await asyncio.gather(
                    *(
                        _prefill(schemas[name], filled, size, sizes, kit_schema=name == "kit")
                        for name in SYSTEMS
                    )
                )
                prefill_seconds[str(size)] = round(time.perf_counter() - started, 1)
                filled = size
                progress(f"  prefilled {size:,} rows ({prefill_seconds[str(size)]} s)")
            if size == 0:
                per_point[str(size)] = await _point(systems, size, sizes, rng)
            else:
                twin_schemas = {name: common.new_schema_name(f"growth_{name}") for name in TWINS}
                try:
                    twin_store = await kit.open_store(twin_schemas["kit_empty"], pool_size=2)
                    twin_conn = await _raw_conn(twin_schemas["raw_empty"], "raw")
                    twins = {"kit_empty": _Kit(twin_store), "raw_empty": _Raw(twin_conn)}
                    per_point[str(size)] = await _point({**systems, **twins}, size, sizes, rng)
                    await twin_store.close()
                    await twin_conn.close()
                finally:
                    for schema in twin_schemas.values():
                        await common.drop_schema(schema)
            progress(f"  size {size:,}: done; load {context.load_average()}")
        await store.close()
        for conn in conns.values():
            await conn.close()
    finally:
        for schema in schemas.values():
            await common.drop_schema(schema)
    return {"points": per_point, "prefill_seconds": prefill_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes; results to $TMPDIR")
    parser.add_argument("--output", type=pathlib.Path)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    sizes = growth.Sizes.quick() if args.quick else growth.Sizes.full()
    load_before = context.load_average()
    started = time.perf_counter()
    measured = asyncio.run(measure(sizes))
    scale.write_results(
        scale.output_path("growth_postgres.json", quick=args.quick, explicit=args.output),
        benchmark="growth_postgres",
        quick=args.quick,
        load_before=load_before,
        body={
            "duration_s": round(time.perf_counter() - started, 1),
            "sizes": attrs.asdict(sizes),
            "unit": "latency per operation in ms (median, p99, max over every repetition)",
            "systems": {
                "kit": "PostgresEventStore (pool of 2, defaults): append_events with an exact "
                "expected version; read_stream",
                "raw": "asyncpg INSERT / executemany in one transaction / SELECT by stream "
                "+ orjson decode, on a table with the kit's columns and indexes",
                "floor": "the same on the bare table (_pg_floor.sql)",
                "kit_empty": "the kit on a fresh empty schema, measured in the same rounds "
                "as each size (its twin)",
                "raw_empty": "raw on a fresh empty table, same rounds",
            },
            "operations": {
                "single": "one-event append",
                "batch100": "one append of 100 events to a new stream",
                "read_new": "read a 100-event stream written just before",
                "read_old": "read a random prefilled 10-event stream, its rows spread "
                "over a million-row chunk",
            },
            **measured,
            "ratios": growth.ratios(measured["points"]),
        },
    )


if __name__ == "__main__":
    main()
