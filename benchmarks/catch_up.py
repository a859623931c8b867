"""Catch-up over a million events, and live latency while 16 writers run (PostgreSQL).

    .venv/bin/python benchmarks/catch_up.py             # 1,000,000 events; ~10 min
    .venv/bin/python benchmarks/catch_up.py --quick     # 20,000 events, results to $TMPDIR

Catch-up: one kit schema is prefilled in SQL with EVENTS events
(_growth_prefill.sql), then, interleaved and repeated:

- ``read_all``: ``async for e in store.read_all()`` over all of them
  (decoded `RecordedEvent`s, default page of 500): the reference rate;
- ``noop``: a new subscription from the beginning with a handler that only
  counts, until it has seen every event (default batch of 100, and
  ``batch_size=500``);
- ``projection``: a transactional subscription whose handler INSERTs one row
  per event into a read-model table through `HandlerContext.connection`,
  committed with the checkpoint (default batch of 100), over the first
  PROJECTION_EVENTS events.

Live latency: a caught-up subscription (``start="now"``) while 16 writers
append one event each every WRITER_PAUSE_S seconds (and, second row, flat
out): from `append_events` returning in the writer to the handler call.
``same_process``: the writers are tasks in the subscriber's event loop;
``other_process``: 16 writer tasks in another process, whose append
times (wall clock) come back on its stdout; PostgreSQL wakes the
subscriber by NOTIFY. Writes results/catch_up.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import pathlib
import statistics
import sys
import time
from typing import Any

import _context as context
import _pg_common as common
import _pg_kit as kit
import _scale_common as scale
import asyncpg
import structlog

from eventsourcing_kit import (
    HandlerContext,
    NewEvent,
    PostgresEventStore,
    RecordedEvent,
    SubscriptionState,
    subscribe,
)

HERE = pathlib.Path(__file__).parent
PREFILL = (HERE / "_growth_prefill.sql").read_text()
WRITERS = 16
WRITER_PAUSE_S = 0.02
PROJECTION_EVENTS = 200_000
"""The projection's rate is taken over the first 200,000 events of the
million: one INSERT round trip per event makes the whole million take
minutes per repetition on the reference machine."""
READ_MODEL = "CREATE TABLE {table} (event_id uuid PRIMARY KEY, stream_id text, version bigint)"


async def _prefill(schema: str, events: int) -> None:
    conn = await asyncpg.connect(common.dsn(), server_settings={"search_path": schema})
    try:
        chunk = min(events, 1_000_000)
        for start in range(0, events, chunk):
            # Short transactions (see _growth_prefill.sql): other sessions'
            # readers of the global order wait for any long one.
            for low in range(start, start + chunk, 20_000):
                high = min(low + 20_000, start + chunk) - 1
                await conn.execute(PREFILL, low, high, start // chunk, chunk // 10, start)
        await conn.execute("VACUUM ANALYZE events")
    finally:
        await conn.close()


async def read_all_rate(store: PostgresEventStore, events: int) -> float:
    started = time.perf_counter()
    count = 0
    async for _ in store.read_all():
        count += 1
    elapsed = time.perf_counter() - started
    assert count >= events, (count, events)
    return count / elapsed


async def _drain(
    store: PostgresEventStore, name: str, handler: Any, events: int, **opts: Any
) -> float:
    seen = 0
    done = asyncio.Event()

    async def counting(record: Any, context: Any = None) -> None:
        nonlocal seen
        if context is None:
            await handler(record)
        else:
            await handler(record, context)
        seen += 1
        if seen >= events:
            done.set()

    subscription = subscribe(store, name, counting, **opts)
    started = time.perf_counter()
    async with subscription:
        finished = asyncio.ensure_future(done.wait())
        stopped = asyncio.ensure_future(subscription.wait())
        await asyncio.wait({finished, stopped}, return_when=asyncio.FIRST_COMPLETED)
        elapsed = time.perf_counter() - started
        finished.cancel()
        stopped.cancel()
        if not done.is_set():
            raise RuntimeError(f"subscription {name} stopped after {seen} events")
    return seen / elapsed


async def noop(record: RecordedEvent) -> None:
    pass


def _projection(table: str) -> Any:
    statement = f"INSERT INTO {table} (event_id, stream_id, version) VALUES ($1, $2, $3)"

    async def project(record: RecordedEvent, context: HandlerContext) -> None:
        await context.connection.execute(
            statement, record.event_id, record.stream_id, record.version
        )

    return project


async def catch_up(
    schema: str, events: int, repetitions: int, projection_events: int
) -> dict[str, Any]:
    rates: dict[str, list[float]] = {
        "read_all": [],
        "noop": [],
        "noop_batch_500": [],
        "noop_batch_5000": [],
        "projection": [],
    }
    async with kit.store_in(schema, pool_size=4) as store:
        await read_all_rate(store, events)  # warm the cache, untimed
        conn = await asyncpg.connect(common.dsn(), server_settings={"search_path": schema})
        try:
            for rep in range(repetitions):
                for name in _rotate(list(rates), rep):
                    sub_id = f"{name}-{rep}"
                    if name == "read_all":
                        rate = await read_all_rate(store, events)
                    elif name == "noop":
                        rate = await _drain(store, sub_id, noop, events)
                    elif name.startswith("noop_batch_"):
                        size = int(name.rsplit("_", 1)[1])
                        rate = await _drain(store, sub_id, noop, events, batch_size=size)
                    else:
                        # The kit's connections name its schema in every
                        # statement and keep the default search_path.
                        table = f'"{schema}".read_model_{rep}'
                        await conn.execute(READ_MODEL.format(table=table))
                        rate = await _drain(
                            store, sub_id, _projection(table), projection_events, transactional=True
                        )
                        written = await conn.fetchval(f"SELECT count(*) FROM {table}")
                        assert written >= projection_events, written
                        await conn.execute(f"DROP TABLE {table}")
                    rates[name].append(rate)
                    print(f"  {name}: {rate:,.0f} events/s", flush=True)
        finally:
            await conn.close()
    medians = {name: round(statistics.median(r), 1) for name, r in rates.items()}
    return {
        "events": events,
        "projection_events": projection_events,
        "repetitions": repetitions,
        "events_per_s_median": medians,
        "runs": {name: [round(x, 1) for x in r] for name, r in rates.items()},
        "vs_read_all": {
            name: round(m / medians["read_all"], 3)
            for name, m in medians.items()
            if name != "read_all"
        },
    }


def _rotate(names: list[str], rep: int) -> list[str]:
    k = rep % len(names)
    return names[k:] + names[:k]


# --- live latency -----------------------------------------------------------------


async def _writers(store: PostgresEventStore, seconds: float, pause: float, report: Any) -> int:
    """WRITERS tasks appending one event each, then `pause` s, for `seconds`."""
    stop = time.monotonic() + seconds
    count = 0

    async def writer(w: int) -> None:
        nonlocal count
        n = 0
        while time.monotonic() < stop:
            event = NewEvent("Pinged", {"w": w, "n": n})
            await store.append_events(f"Live-{w}", [event])
            report(str(event.event_id), time.time_ns())
            n += 1
            count += 1
            if pause:
                await asyncio.sleep(pause)

    await asyncio.gather(*(writer(w) for w in range(WRITERS)))
    return count


_FOREIGN_HOLDER = (
    "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)), 0) "
    "FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND application_name <> $1"
)


async def _watch_foreign_transactions(schema: str, ages: list[float]) -> None:
    """Sample, every 10 ms, how long the oldest transaction holding an xid
    outside this benchmark has been open: a reader of the global order
    delivers nothing newer than it (docs/postgres.md), so on a shared server
    other sessions' transactions show up in the live latency."""
    conn = await asyncpg.connect(common.dsn())
    try:
        while True:
            ages.append(float(await conn.fetchval(_FOREIGN_HOLDER, schema)))
            await asyncio.sleep(0.01)
    finally:
        await conn.close()


async def live(schema: str, seconds: float, pause: float, other_process: bool) -> dict[str, Any]:
    ages: list[float] = []
    watcher = asyncio.ensure_future(_watch_foreign_transactions(schema, ages))
    try:
        result = await _live(schema, seconds, pause, other_process)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)
    if ages:
        result["foreign_xid_holder_age_ms"] = {
            k: v for k, v in scale.latency_summary(ages).items() if k != "count"
        }
    return result


async def _live(schema: str, seconds: float, pause: float, other_process: bool) -> dict[str, Any]:
    called: dict[str, int] = {}
    committed: dict[str, int] = {}

    async def handler(record: RecordedEvent) -> None:
        called[str(record.event_id)] = time.time_ns()

    async with kit.store_in(schema, pool_size=WRITERS + 2) as store:
        subscription = subscribe(store, f"live-{time.monotonic_ns()}", handler, start="now")
        async with subscription:
            while subscription.state is not SubscriptionState.LIVE:  # noqa: ASYNC110
                await asyncio.sleep(0.005)
            if other_process:
                spec = {"schema": schema, "seconds": seconds, "pause": pause}
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    __file__,
                    "--writer",
                    json.dumps(spec),
                    stdout=asyncio.subprocess.PIPE,
                )
                assert process.stdout is not None
                async for line in process.stdout:
                    event_id, at = line.decode().split()
                    committed[event_id] = int(at)
                if await process.wait() != 0:
                    raise RuntimeError("the writer process failed")
            else:
                await _writers(store, seconds, pause, committed.__setitem__)
            deadline = time.monotonic() + 30
            while len(called.keys() & committed.keys()) < len(committed):
                if time.monotonic() > deadline:
                    raise TimeoutError("the subscriber missed events")
                await asyncio.sleep(0.01)
    latencies = [(called[e] - at) / 1e9 for e, at in committed.items()]
    return {**scale.latency_summary(latencies), "appends_per_s": round(len(committed) / seconds, 1)}


async def _writer_process(spec: dict[str, Any]) -> None:
    async with kit.store_in(spec["schema"], pool_size=WRITERS + 1, migrate=False) as store:

        def report(event_id: str, at: int) -> None:
            print(event_id, at, flush=True)

        await _writers(store, spec["seconds"], spec["pause"], report)


async def measure(quick: bool) -> dict[str, Any]:
    events = 20_000 if quick else 1_000_000
    projection_events = 10_000 if quick else PROJECTION_EVENTS
    repetitions = 1 if quick else 2
    seconds = 2.0 if quick else 10.0
    out: dict[str, Any] = {}
    async with common.fresh_schema("catchup", create=False) as schema:
        async with kit.store_in(schema, pool_size=1):
            pass  # migrates the schema
        await _prefill(schema, events)
        out["catch_up"] = await catch_up(schema, events, repetitions, projection_events)
    out["live"] = {}
    for pause, label in ((WRITER_PAUSE_S, f"paced_{WRITER_PAUSE_S}s"), (0.0, "flat_out")):
        for other in (False, True):
            async with common.fresh_schema("live", create=False) as schema:
                async with kit.store_in(schema, pool_size=1):
                    pass
                key = f"{'other_process' if other else 'same_process'}_{label}"
                out["live"][key] = await live(schema, seconds, pause, other)
                print(f"  live {key}: {out['live'][key]}", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", type=pathlib.Path)
    parser.add_argument("--writer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.writer:
        asyncio.run(_writer_process(json.loads(args.writer)))
        return
    load_before = context.load_average()
    started = time.perf_counter()
    body = asyncio.run(measure(args.quick))
    scale.write_results(
        scale.output_path("catch_up.json", quick=args.quick, explicit=args.output),
        benchmark="catch_up",
        quick=args.quick,
        load_before=load_before,
        body={
            "duration_s": round(time.perf_counter() - started, 1),
            "writers": WRITERS,
            "writer_pause_s": WRITER_PAUSE_S,
            "notes": {
                "catch_up": "events/s from start() to the handler seeing the last prefilled "
                "event; read_all is the same store's decoded read_all rate",
                "live": "ms from append_events returning in a writer to the handler call; "
                "wall clock (time.time_ns) on both sides, one machine",
            },
            **body,
        },
    )


if __name__ == "__main__":
    main()
