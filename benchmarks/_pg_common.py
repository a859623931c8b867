"""What every PostgreSQL benchmark scenario shares: sizes, inputs, schemas, stats.

Each system (the raw asyncpg floor, the kit, pyeventsourcing) writes the same
logical events: the same stream layout, the same JSON payloads, the same
counts. Inputs are built before the clock starts; encoding JSON, talking to
the server and committing happen inside the timed part for everyone.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import attrs

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
        return cls(
            repetitions=5,
            single_appends=2000,
            single_streams=200,
            batches=50,
            batch_size=100,
            events_per_writer=200,
            read_events=20000,
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


async def timed(work: Callable[[], Awaitable[Any]]) -> float:
    """Wall-clock seconds `work()` took."""
    start = time.perf_counter()
    await work()
    return time.perf_counter() - start


def summarize(rates: list[float]) -> dict[str, Any]:
    """Median and spread of events/s over repetitions."""
    return {
        "median": round(statistics.median(rates), 1),
        "min": round(min(rates), 1),
        "max": round(max(rates), 1),
        "spread_pct": round(100 * (max(rates) - min(rates)) / statistics.median(rates), 1),
        "runs": [round(r, 1) for r in rates],
    }
