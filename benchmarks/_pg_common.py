"""What every PostgreSQL benchmark scenario shares: sizes, inputs, schemas, stats.

Each system (the raw asyncpg floor, the kit, pyeventsourcing) writes the same
logical events: the same stream layout, the same JSON payloads, the same
counts. Inputs are built before the clock starts; encoding JSON, talking to
the server and committing happen inside the timed part for everyone.
"""

from __future__ import annotations

import os
import pathlib
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import attrs
import psycopg

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
DSN_ENV = "EVENTSOURCING_KIT_TEST_DSN"

WRITERS = 16
"""Concurrent writers in the concurrency scenarios (one connection each)."""


def dsn() -> str:
    return os.environ.get(DSN_ENV, DEFAULT_DSN)


@attrs.frozen(kw_only=True)
class Sizes:
    """How much work each scenario does; `quick` is for checking the harness."""

    repetitions: int
    single_appends: int
    single_streams: int
    batches: int
    batch_size: int
    events_per_writer: int
    read_events: int

    @classmethod
    def full(cls) -> Sizes:
        # 9 interleaved repetitions: with 5, the raw reference alone drifted
        # between runs on a shared 2-core machine by more than the gaps the
        # ratios are there to show. 100,000 events read: a shorter read let
        # one hiccup of the machine move a whole repetition.
        return cls(
            repetitions=9,
            single_appends=2000,
            single_streams=200,
            batches=50,
            batch_size=100,
            events_per_writer=200,
            read_events=100000,
        )

    @classmethod
    def quick(cls) -> Sizes:
        return cls(
            repetitions=2,
            single_appends=300,
            single_streams=30,
            batches=10,
            batch_size=100,
            events_per_writer=30,
            read_events=3000,
        )


@attrs.frozen(kw_only=True)
class Event:
    """One logical event, the same for every system under test."""

    event_id: uuid.UUID
    stream_id: str
    version: int
    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any]


def payload(n: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """A realistic small event body (about 120 bytes of JSON) and its metadata."""
    data = {"amount": 100 + n % 997, "currency": "EUR", "reference": f"invoice-{n:08d}"}
    correlation = str(uuid.UUID(int=n + 1))
    metadata = {"correlation_id": correlation, "causation_id": correlation}
    return data, metadata


def stream_name(prefix: str, n: int) -> str:
    return f"Account-{prefix}{n:06d}-{uuid.UUID(int=n)}"


def single_event_plan(count: int, streams: int, prefix: str = "s") -> list[Event]:
    """`count` events, round-robin over `streams` streams: event i is the
    (i // streams + 1)th of its stream, so every append after the first
    round goes to an existing stream with an exact expected version."""
    events = []
    for i in range(count):
        data, metadata = payload(i)
        events.append(
            Event(
                event_id=uuid.uuid4(),
                stream_id=stream_name(prefix, i % streams),
                version=i // streams + 1,
                event_type="Deposited",
                data=data,
                metadata=metadata,
            )
        )
    return events


def batch_plan(batches: int, size: int, prefix: str = "b") -> list[list[Event]]:
    """`batches` new streams of `size` events each, one batch per stream."""
    plan = []
    for b in range(batches):
        batch = []
        for v in range(1, size + 1):
            data, metadata = payload(b * size + v)
            batch.append(
                Event(
                    event_id=uuid.uuid4(),
                    stream_id=stream_name(prefix, b),
                    version=v,
                    event_type="Deposited",
                    data=data,
                    metadata=metadata,
                )
            )
        plan.append(batch)
    return plan


def writer_plans(writers: int, per_writer: int) -> list[list[Event]]:
    """One private stream per writer, `per_writer` single-event appends each."""
    return [
        [
            Event(
                event_id=uuid.uuid4(),
                stream_id=stream_name(f"w{w:02d}-", 0),
                version=v,
                event_type="Deposited",
                data=payload(w * per_writer + v)[0],
                metadata=payload(w * per_writer + v)[1],
            )
            for v in range(1, per_writer + 1)
        ]
        for w in range(writers)
    ]


def warmup_plan(count: int) -> list[Event]:
    """`count` first events of new streams, for warming connections up untimed:
    each system's connections prepare their statements (and the kit's
    introspect its parameter types) once, as in a long-running application."""
    return [
        Event(
            event_id=uuid.uuid4(),
            stream_id=f"Warmup-{uuid.uuid4()}",
            version=1,
            event_type="Deposited",
            data=payload(n)[0],
            metadata=payload(n)[1],
        )
        for n in range(count)
    ]


# --- schemas -------------------------------------------------------------------


def new_schema_name(label: str) -> str:
    return f"bench_{label}_{uuid.uuid4().hex[:8]}"


async def create_schema(name: str) -> None:
    conn = await asyncpg.connect(dsn())
    try:
        # Identifiers cannot be bound: the server quotes the name for us.
        await conn.execute(await conn.fetchval("SELECT format('CREATE SCHEMA %I', $1::text)", name))
    finally:
        await conn.close()


async def drop_schema(name: str) -> None:
    conn = await asyncpg.connect(dsn())
    try:
        await conn.execute(
            await conn.fetchval("SELECT format('DROP SCHEMA IF EXISTS %I CASCADE', $1::text)", name)
        )
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_schema(label: str, *, create: bool = True) -> AsyncIterator[str]:
    """A new, uniquely named schema for one measurement; dropped afterwards."""
    name = new_schema_name(label)
    if create:
        await create_schema(name)
    try:
        yield name
    finally:
        await drop_schema(name)


# --- timing and statistics -----------------------------------------------------


@attrs.frozen
class Timing:
    """What one timed workload cost: wall clock, and CPU on each side.

    `client_cpu` is this process's CPU time (all threads); `server_cpu` that
    of the PostgreSQL backends serving the run's connections (found by their
    application_name, read from /proc: the server runs on this machine), or
    None where /proc cannot tell. On a 2-core machine where client and server
    share the cores, CPU per event is what throughput is made of.
    """

    seconds: float
    client_cpu: float
    server_cpu: float | None


class _ServerCpu:
    """Reads the CPU time of the backends serving one application_name."""

    def __init__(self) -> None:
        self._probe: psycopg.Connection[Any] | None = None
        self._tick = os.sysconf("SC_CLK_TCK")

    def read(self, application_name: str) -> float | None:
        if self._probe is None or self._probe.closed:
            self._probe = psycopg.connect(dsn(), autocommit=True, application_name="bench_probe")
        pids = [
            row[0]
            for row in self._probe.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = %s",
                (application_name,),
            )
        ]
        total = 0
        try:
            for pid in pids:
                fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            return None
        return total / self._tick if pids else None


_server_cpu = _ServerCpu()


class Stopwatch:
    """Starts the clocks on creation; `stop()` returns the `Timing`.

    Pass the application_name the run's connections carry, to count the
    server side too; its connections must be open before the clock starts.
    """

    def __init__(self, application_name: str | None = None) -> None:
        self._name = application_name
        self._server = None if application_name is None else _server_cpu.read(application_name)
        self._cpu = time.process_time()
        self._wall = time.perf_counter()

    def stop(self) -> Timing:
        wall = time.perf_counter() - self._wall
        cpu = time.process_time() - self._cpu
        server = None
        if self._name is not None and self._server is not None:
            after = _server_cpu.read(self._name)
            server = None if after is None else after - self._server
        return Timing(seconds=wall, client_cpu=cpu, server_cpu=server)


def summarize(events: int, timings: list[Timing]) -> dict[str, Any]:
    """Median and spread of events/s over repetitions, and CPU per event."""
    rates = [events / t.seconds for t in timings]
    median = statistics.median(rates)
    summary: dict[str, Any] = {
        "events": events,
        "median": round(median, 1),
        "min": round(min(rates), 1),
        "max": round(max(rates), 1),
        "spread_pct": round(100 * (max(rates) - min(rates)) / median, 1),
        "runs": [round(r, 1) for r in rates],
        "client_cpu_us_per_event": round(
            statistics.median(t.client_cpu for t in timings) / events * 1e6, 1
        ),
    }
    servers = [t.server_cpu for t in timings if t.server_cpu is not None]
    if len(servers) == len(timings):
        summary["server_cpu_us_per_event"] = round(statistics.median(servers) / events * 1e6, 1)
    return summary
