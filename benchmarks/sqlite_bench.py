"""Throughput of the SQLite store on a real file: appends and read_all.

Run: .venv/bin/python benchmarks/sqlite_bench.py  (about half a minute)
Writes benchmarks/results/sqlite.json: the median of RUNS runs of each
measure, each run on a new file in a temporary directory, with the store's
defaults (WAL, synchronous=NORMAL). ``--quick``: one run, results printed only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import structlog

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.sqlite import SQLiteEventStore

RUNS = 5
SINGLE_APPENDS = 2000
BATCHES = 100
BATCH_SIZE = 100
CONCURRENT_TASKS = 8
STREAMS = 100
RESULTS = Path(__file__).parent / "results" / "sqlite.json"


def payload(n: int) -> dict[str, object]:
    return {"amount": n, "currency": "EUR", "note": "benchmark deposit", "tags": ["a", "b"]}


async def single_appends(store: SQLiteEventStore) -> float:
    """One event per append, one task, exact expected versions: appends/s."""
    versions = [0] * STREAMS
    started = time.perf_counter()
    for n in range(SINGLE_APPENDS):
        s = n % STREAMS
        await store.append_events(
            f"Account-{s}", [NewEvent("Deposited", payload(n))], expected_version=versions[s]
        )
        versions[s] += 1
    return SINGLE_APPENDS / (time.perf_counter() - started)


async def concurrent_appends(store: SQLiteEventStore) -> float:
    """One event per append from several tasks, each on its own streams: appends/s."""

    async def writer(task: int) -> None:
        for n in range(SINGLE_APPENDS // CONCURRENT_TASKS):
            await store.append_events(f"Order-{task}-{n % 10}", [NewEvent("Placed", payload(n))])

    started = time.perf_counter()
    await asyncio.gather(*(writer(task) for task in range(CONCURRENT_TASKS)))
    return SINGLE_APPENDS // CONCURRENT_TASKS * CONCURRENT_TASKS / (time.perf_counter() - started)


async def batch_appends(store: SQLiteEventStore) -> float:
    """BATCH_SIZE events per append, new stream each: events/s."""
    started = time.perf_counter()
    for b in range(BATCHES):
        events = [NewEvent("Deposited", payload(n)) for n in range(BATCH_SIZE)]
        await store.append_events(f"Batch-{b}", events, expected_version=0)
    return BATCHES * BATCH_SIZE / (time.perf_counter() - started)


async def read_all(store: SQLiteEventStore) -> float:
    """Every event of the file through read_all, default page size: events/s."""
    started = time.perf_counter()
    count = 0
    async for _ in store.read_all():
        count += 1
    return count / (time.perf_counter() - started)


MEASURES: list[tuple[str, Callable[[SQLiteEventStore], Awaitable[float]]]] = [
    ("single_event_appends_per_s", single_appends),
    ("concurrent_single_event_appends_per_s", concurrent_appends),
    ("batch_100_events_per_s", batch_appends),
    ("read_all_events_per_s", read_all),
]


async def one_run(directory: Path, run: int) -> dict[str, float]:
    store = await SQLiteEventStore.open(str(directory / f"bench-{run}.db"))
    try:
        return {name: await measure(store) for name, measure in MEASURES}
    finally:
        await store.close()


async def main(*, quick: bool) -> None:
    runs: list[dict[str, float]] = []
    load_before = os.getloadavg()[0]
    count = 1 if quick else RUNS
    with tempfile.TemporaryDirectory() as directory:
        for run in range(count):
            runs.append(await one_run(Path(directory), run))
            print(
                f"run {run + 1}/{count}: {json.dumps({k: round(v) for k, v in runs[-1].items()})}"
            )
    medians = {name: round(statistics.median(r[name] for r in runs)) for name, _ in MEASURES}
    result = {
        "medians": medians,
        "runs": count,
        "workload": {
            "single_appends": SINGLE_APPENDS,
            "concurrent_tasks": CONCURRENT_TASKS,
            "batches": BATCHES,
            "batch_size": BATCH_SIZE,
            "read_all_events": SINGLE_APPENDS * 2 + BATCHES * BATCH_SIZE,
            "payload_bytes": len(json.dumps(payload(1000))),
        },
        "settings": {"journal_mode": "wal", "synchronous": "NORMAL"},
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        # Other work on the machine skews the figures: compare runs made at a similar load.
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(medians, indent=2))
    if not quick:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    # An application (this script) configures logging, not the library: keep
    # the per-append debug lines out of the measurement.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    parser = argparse.ArgumentParser(description="Throughput of the SQLite store on a file")
    parser.add_argument("--quick", action="store_true", help="one run; do not write results")
    asyncio.run(main(quick=parser.parse_args().quick))
