"""Does NOTIFY inside the append transaction cost concurrent append throughput?

PostgreSQL serializes the commits of notifying transactions (a lock on the
notification queue is taken at commit and held until the commit ends). This
benchmark appends single events from 16 concurrent writers (distinct
streams, one pool) with each notify mode of the store, interleaving modes
across rounds, and records the median throughput per mode.

    .venv/bin/python benchmarks/notify_cost.py [--dsn URL] [--rounds 5] [--appends 150]

Writes benchmarks/results/notify_cost.json. The schema it creates is dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import statistics
import time
from pathlib import Path

import asyncpg

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.postgres import PostgresEventStore, migrate, quote_identifier

MODES = ("off", "in_transaction", "after_commit", "coalesced")
WRITERS = 16
RESULTS = Path(__file__).parent / "results" / "notify_cost.json"


async def _run(dsn: str, schema: str, mode: str, appends: int, listeners: int) -> float:
    store = await PostgresEventStore.open(
        dsn, schema=schema, migrate=False, notify=mode, min_size=WRITERS, max_size=WRITERS + 2
    )
    # Live readers in other processes would LISTEN: keep some listening sessions.
    watchers = [await asyncpg.connect(dsn) for _ in range(listeners)]
    for watcher in watchers:
        await watcher.add_listener(f"eventsourcing_kit.{schema}", lambda *_: None)
    tag = secrets.token_hex(4)

    async def writer(n: int) -> None:
        for version in range(appends):
            await store.append_events(
                f"Bench{mode}-{tag}-{n}",
                [NewEvent("Benchmarked", {"n": version, "writer": n})],
                expected_version=version,
            )

    try:
        started = time.perf_counter()
        await asyncio.gather(*(writer(n) for n in range(WRITERS)))
        elapsed = time.perf_counter() - started
    finally:
        for watcher in watchers:
            await watcher.close()
        await store.close()
    return WRITERS * appends / elapsed


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dsn",
        default=os.environ.get(
            "EVENTSOURCING_KIT_TEST_DSN", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--appends", type=int, default=150, help="appends per writer per run")
    parser.add_argument("--listeners", type=int, default=1)
    arguments = parser.parse_args()

    schema = "eskit_bench_" + secrets.token_hex(4)
    await migrate(arguments.dsn, schema=schema)
    runs: dict[str, list[float]] = {mode: [] for mode in MODES}
    try:
        await _run(arguments.dsn, schema, "off", 20, arguments.listeners)  # warm up
        for round_ in range(arguments.rounds):
            order = MODES[round_ % len(MODES) :] + MODES[: round_ % len(MODES)]
            for mode in order:
                rate = await _run(
                    arguments.dsn, schema, mode, arguments.appends, arguments.listeners
                )
                runs[mode].append(round(rate, 1))
                print(f"round {round_ + 1} {mode:>15}: {rate:8.1f} events/s", flush=True)
    finally:
        connection = await asyncpg.connect(arguments.dsn)
        await connection.execute(f"DROP SCHEMA {quote_identifier(schema)} CASCADE")
        await connection.close()

    medians = {mode: statistics.median(rates) for mode, rates in runs.items()}
    baseline = medians["off"]
    result = {
        "benchmark": "16 concurrent writers, single-event appends, distinct streams",
        "writers": WRITERS,
        "appends_per_writer_per_run": arguments.appends,
        "listening_sessions": arguments.listeners,
        "rounds": arguments.rounds,
        "unit": "events/s",
        "median": {mode: round(rate, 1) for mode, rate in medians.items()},
        "ratio_to_off": {mode: round(rate / baseline, 3) for mode, rate in medians.items()},
        "runs": runs,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "recorded": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["median"]), json.dumps(result["ratio_to_off"]))


if __name__ == "__main__":
    asyncio.run(main())
