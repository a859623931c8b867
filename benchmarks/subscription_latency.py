"""End-to-end latency of a live subscription: from an append's commit to its handler.

Run: .venv/bin/python benchmarks/subscription_latency.py [--quick] [--backends memory,sqlite]
Writes benchmarks/results/subscription_latency.json (median, p99 and max in ms):
the backends run now replace theirs, the others' recorded results stay, each
with when and under what load it ran. ``--quick`` writes to the temporary
directory instead: its figures are no results.

Two scenarios per backend, with a caught-up subscriber (``start="now"``)
waiting on `EventStore.wait_for_events`:

- ``in_process``: the writer is a task in the subscriber's event loop. The
  clock starts when `append_events` returns (the commit is acknowledged)
  and stops when the handler is called. Because asyncio is cooperative, the
  handler cannot run before the writer reaches its next await, so this never
  comes out negative. Events are appended one at a time, each after the
  previous one was handled, with a short random pause in between, so every
  measurement sees the idle live path (a wake-up, one read, the handler).
- ``cross_process``: the writer is another OS process, appending every
  INTERVAL seconds whatever the subscriber does; it prints each event id with
  the wall-clock time its append returned. PostgreSQL wakes the subscriber
  with LISTEN/NOTIFY; SQLite has no cross-process signal, so the subscriber
  finds the events by its polling fallback (``poll_interval``): its latency is
  about half the poll interval by design, measured here for two intervals.

The PostgreSQL scenarios use a schema of their own (``eskit_bench_<random>``),
dropped at the end. The server is EVENTSOURCING_KIT_TEST_DSN, default
postgresql://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from eventsourcing_kit import EventStore, NewEvent, RecordedEvent, connect, subscribe
from eventsourcing_kit.subscriptions import SubscriptionState

RESULTS = Path(__file__).parent / "results" / "subscription_latency.json"
DSN = os.environ.get("EVENTSOURCING_KIT_TEST_DSN", "postgresql://postgres@127.0.0.1:5432/test")
INTERVAL_S = 0.01
"""Cross-process writer: seconds between appends."""


def summary(latencies_ns: list[int]) -> dict[str, Any]:
    ms = sorted(value / 1e6 for value in latencies_ns)
    return {
        "events": len(ms),
        "median_ms": round(statistics.median(ms), 3),
        "p99_ms": round(statistics.quantiles(ms, n=100, method="inclusive")[98], 3),
        "max_ms": round(ms[-1], 3),
    }


async def wait_live(subscription: Any) -> None:
    while subscription.state is not SubscriptionState.LIVE:  # noqa: ASYNC110
        await asyncio.sleep(0.005)


async def in_process(store: EventStore, events: int) -> dict[str, Any]:
    handled = asyncio.Event()
    called_at = 0

    async def handler(event: RecordedEvent) -> None:
        nonlocal called_at
        called_at = time.perf_counter_ns()
        handled.set()

    latencies: list[int] = []
    subscription = subscribe(store, f"latency-{secrets.token_hex(3)}", handler, start="now")
    async with subscription:
        await wait_live(subscription)
        for number in range(events):
            handled.clear()
            await store.append_events(f"Bench-{number % 50}", [NewEvent("Pinged", {"n": number})])
            committed_at = time.perf_counter_ns()
            await asyncio.wait_for(handled.wait(), 30)
            latencies.append(called_at - committed_at)
            await asyncio.sleep(random.uniform(0.0005, 0.002))
    return summary(latencies)


async def cross_process(
    store: EventStore, url: str, options: dict[str, Any], events: int, poll_interval: float
) -> dict[str, Any]:
    called: dict[str, int] = {}

    async def handler(event: RecordedEvent) -> None:
        called[str(event.event_id)] = time.time_ns()

    subscription = subscribe(
        store, f"latency-{secrets.token_hex(3)}", handler, start="now", poll_interval=poll_interval
    )
    async with subscription:
        await wait_live(subscription)
        writer = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--writer",
            json.dumps({"url": url, "options": options, "events": events}),
            stdout=asyncio.subprocess.PIPE,
        )
        assert writer.stdout is not None
        committed: dict[str, int] = {}
        async for line in writer.stdout:
            event_id, at = line.decode().split()
            committed[event_id] = int(at)
        if await writer.wait() != 0:
            raise RuntimeError("the writer process failed")
        while len(called) < len(committed):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    return summary([called[event_id] - at for event_id, at in committed.items()])


async def writer(spec: dict[str, Any]) -> None:
    async with connect(spec["url"], **spec["options"]) as store:
        for number in range(spec["events"]):
            event = NewEvent("Pinged", {"n": number})
            await store.append_events(f"Bench-{number % 50}", [event])
            print(event.event_id, time.time_ns(), flush=True)
            await asyncio.sleep(INTERVAL_S)


async def run_backend(name: str, quick: bool, workdir: Path) -> dict[str, Any]:
    in_process_events = 100 if quick else 1000
    cross_events = 40 if quick else 300
    schema = None
    if name == "memory":
        url, options = "memory://", {}
    elif name == "sqlite":
        url, options = f"sqlite:///{workdir / 'latency.db'}", {}
    else:
        schema = "eskit_bench_" + secrets.token_hex(6)
        url, options = DSN, {"schema": schema}
    results: dict[str, Any] = {}
    try:
        async with connect(url, **options) as store:
            results["in_process"] = await in_process(store, in_process_events)
            if name == "sqlite":
                for poll in (1.0, 0.05):
                    results[f"cross_process_poll_{poll}s"] = await cross_process(
                        store, url, options, cross_events, poll
                    )
            elif name == "postgres":
                results["cross_process"] = await cross_process(
                    store, url, {**options, "migrate": False}, cross_events, 1.0
                )
    finally:
        if schema is not None:
            await drop_schema(schema)
    return results


async def drop_schema(schema: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(DSN)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


async def main(backends: list[str], quick: bool, out: Path) -> None:
    results: dict[str, Any] = {}
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as workdir:
        for name in backends:
            print(f"{name}...", file=sys.stderr, flush=True)
            load_before = round(os.getloadavg()[0], 2)
            results[name] = await run_backend(name, quick, Path(workdir))
            runs[name] = {
                "recorded": datetime.now(UTC).isoformat(timespec="seconds"),
                "quick": quick,
                "load_average_1m_before_after": [load_before, round(os.getloadavg()[0], 2)],
                "python": platform.python_version(),
                "machine": platform.machine(),
                "cpus": os.cpu_count(),
            }
            print(json.dumps(results[name], indent=2), file=sys.stderr, flush=True)
    report = merged(out, results, runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")  # noqa: ASYNC240
    print(f"wrote {out}", file=sys.stderr)


def merged(out: Path, results: dict[str, Any], runs: dict[str, Any]) -> dict[str, Any]:
    """This run's backends over those already recorded in `out`: one results
    file for the benchmark, whichever backends a run covered."""
    report: dict[str, Any] = {"results": {}, "runs": {}}
    if out.exists():
        report = json.loads(out.read_text())
    report["results"].update(results)
    report["runs"].update(runs)
    report["notes"] = {
        "in_process": "writer task in the subscriber's loop; clock from append return "
        "to handler call; one event at a time, idle live path",
        "cross_process": f"writer process appending every {INTERVAL_S}s; wall clock from "
        "append return (writer) to handler call (subscriber)",
        "sqlite_cross_process": "no cross-process wake-up on SQLite: found by polling, "
        "so about half the poll interval",
        "runs": "per backend: when it ran, the load average before and after, the machine",
    }
    return report


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few events: check the harness")
    parser.add_argument("--backends", default="memory,sqlite,postgres")
    parser.add_argument("--out", type=Path, help=f"results file (default {RESULTS.name})")
    parser.add_argument("--writer", help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.writer:
        asyncio.run(writer(json.loads(arguments.writer)))
    else:
        quick_out = Path(tempfile.gettempdir()) / "subscription_latency_quick.json"
        out = arguments.out or (quick_out if arguments.quick else RESULTS)
        asyncio.run(main(arguments.backends.split(","), arguments.quick, out))
