"""Growth curves on SQLite: append and stream-read latency as the events table grows.

    .venv/bin/python benchmarks/growth_sqlite.py            # 0, 100k, 500k, 1M rows
    .venv/bin/python benchmarks/growth_sqlite.py --quick    # tiny sizes, results to $TMPDIR

The counterpart of growth_postgres.py on two files in a temporary
directory: the kit's store (`SQLiteEventStore`, its defaults: WAL,
synchronous=NORMAL) and the raw reference, a table with the kit's columns
and indexes (_growth_sqlite_raw.sql) written by plain `sqlite3` calls on
the event loop's thread, same settings. Both are prefilled in SQL with the
same synthetic history (_growth_prefill_sqlite.sql) and run the workload of
_growth_common, interleaved. Writes results/growth_sqlite.json.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import pathlib
import random
import sqlite3
import tempfile
import time
import uuid
from typing import Any

import _context as context
import _growth_common as growth
import _pg_common as common
import _scale_common as scale
import attrs
import orjson
import structlog

from eventsourcing_kit import NewEvent, SQLiteEventStore

HERE = pathlib.Path(__file__).parent
PREFILL = (HERE / "_growth_prefill_sqlite.sql").read_text()
RAW_TABLE = (HERE / "_growth_sqlite_raw.sql").read_text()
SYSTEMS = ("kit", "raw")
_INSERT = (
    "INSERT INTO events (stream_id, category, version, event_type, data, metadata, event_id, "
    "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_READ = (
    "SELECT global_position, stream_id, version, event_type, data, metadata, event_id, "
    "recorded_at FROM events WHERE stream_id = ? AND version >= ? ORDER BY version LIMIT ?"
)


def _open_raw(path: pathlib.Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _prefill(path: pathlib.Path, first: int, last: int, sizes: growth.Sizes) -> None:
    conn = _open_raw(path)
    try:
        for start in range(first, last, sizes.chunk):
            end = min(start + sizes.chunk, last) - 1
            params = {
                "first": start,
                "last": end,
                "chunk": start // sizes.chunk,
                "streams": sizes.streams_per_chunk,
            }
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(PREFILL, params)
            conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()


class _Kit:
    def __init__(self, store: SQLiteEventStore) -> None:
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


def _row(stream: str, version: int, n: int) -> tuple[Any, ...]:
    data, metadata = common.payload(n)
    return (
        stream,
        stream.split("-", 1)[0],
        version,
        "Deposited",
        orjson.dumps(data).decode(),
        orjson.dumps(metadata).decode(),
        uuid.uuid4().bytes,
        "2026-01-01T00:00:00.000000+00:00",
    )


class _Raw:
    """The same operations as plain sqlite3 statements, on the loop's thread."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    async def append_one(self, stream: str, n: int, expected: int) -> None:
        self.conn.execute(_INSERT, _row(stream, expected + 1, n))

    async def append_batch(self, stream: str, n: int) -> None:
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany(_INSERT, [_row(stream, i + 1, n + i) for i in range(100)])
        self.conn.execute("COMMIT")

    async def read(self, stream: str) -> int:
        loads = orjson.loads
        rows = self.conn.execute(_READ, (stream, 1, 500)).fetchall()
        return len(
            [
                (r[0], r[1], r[2], r[3], loads(r[4]), loads(r[5]), uuid.UUID(bytes=r[6]))
                for r in rows
            ]
        )


async def _point(
    systems: dict[str, Any], size: int, sizes: growth.Sizes, rng: random.Random
) -> dict[str, Any]:
    names = list(systems)
    sized = {name: 0 if name.endswith("_empty") else size for name in names}
    latencies = {name: {op: [] for op in growth.OPERATIONS} for name in names}
    for name in names:  # warm-up, untimed
        scratch: growth.Latencies = {op: [] for op in growth.OPERATIONS}
        await growth.workload(systems[name], name, sized[name], sizes, rng, scratch)
    for rep in range(sizes.repetitions):
        for name in growth.rotate(names, rep):
            await growth.workload(systems[name], name, sized[name], sizes, rng, latencies[name])
    return {
        name: {op: scale.latency_summary(v) for op, v in ops.items() if v}
        for name, ops in latencies.items()
    }


async def measure(sizes: growth.Sizes) -> dict[str, Any]:
    per_point: dict[str, Any] = {}
    prefill_seconds: dict[str, float] = {}
    rng = random.Random(15)
    with tempfile.TemporaryDirectory() as directory:
        paths = {name: pathlib.Path(directory) / f"{name}.db" for name in SYSTEMS}
        store = await SQLiteEventStore.open(paths["kit"])
        raw_conn = _open_raw(paths["raw"])
        raw_conn.executescript(RAW_TABLE)
        systems: dict[str, Any] = {"kit": _Kit(store), "raw": _Raw(raw_conn)}
        try:
            filled = 0
            for size in sizes.points:
                if size > filled:
                    started = time.perf_counter()
                    for name in SYSTEMS:
                        await asyncio.to_thread(_prefill, paths[name], filled, size, sizes)
                    prefill_seconds[str(size)] = round(time.perf_counter() - started, 1)
                    filled = size
                    print(f"  prefilled {size:,} rows ({prefill_seconds[str(size)]} s)", flush=True)
                point = dict(systems)
                twin_store = twin_conn = None
                if size:
                    # Fresh empty twins, measured in the same rounds: growth
                    # is a curve over its twin, not over another moment's load.
                    twin_store = await SQLiteEventStore.open(
                        pathlib.Path(directory) / f"kit_empty_{size}.db"
                    )
                    twin_conn = _open_raw(pathlib.Path(directory) / f"raw_empty_{size}.db")
                    twin_conn.executescript(RAW_TABLE)
                    point["kit_empty"] = _Kit(twin_store)
                    point["raw_empty"] = _Raw(twin_conn)
                per_point[str(size)] = await _point(point, size, sizes, rng)
                if twin_store is not None and twin_conn is not None:
                    await twin_store.close()
                    twin_conn.close()
                print(f"  size {size:,}: done; load {context.load_average()}", flush=True)
        finally:
            await store.close()
            raw_conn.close()
    return {"points": per_point, "prefill_seconds": prefill_seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes; results to $TMPDIR")
    parser.add_argument("--output", type=pathlib.Path)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    sizes = growth.Sizes.quick() if args.quick else growth.Sizes.full_sqlite()
    load_before = context.load_average()
    started = time.perf_counter()
    measured = asyncio.run(measure(sizes))
    scale.write_results(
        scale.output_path("growth_sqlite.json", quick=args.quick, explicit=args.output),
        benchmark="growth_sqlite",
        quick=args.quick,
        load_before=load_before,
        postgres=False,
        body={
            "duration_s": round(time.perf_counter() - started, 1),
            "sizes": attrs.asdict(sizes),
            "sqlite": sqlite3.sqlite_version,
            "settings": {"journal_mode": "wal", "synchronous": "NORMAL"},
            "unit": "latency per operation in ms (median, p99, max over every repetition)",
            "systems": {
                "kit": "SQLiteEventStore (defaults): append_events with an exact expected "
                "version; read_stream",
                "raw": "sqlite3 INSERT / executemany in BEGIN IMMEDIATE / SELECT by stream + "
                "orjson decode, on the loop's thread, table with the kit's columns and indexes",
                "kit_empty": "the kit on a fresh empty file, measured in the same rounds as "
                "each size (its twin)",
                "raw_empty": "raw on a fresh empty file, same rounds",
            },
            **measured,
            "ratios": growth.ratios(measured["points"]),
        },
    )


if __name__ == "__main__":
    main()
