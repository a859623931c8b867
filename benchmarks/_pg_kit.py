"""The kit: the same workloads through `connect("postgresql://...")`.

Appends always pass an exact `expected_version` (the check is part of what
is measured). `NewEvent` objects are built before the clock starts, like the
floor's row tuples; validation, JSON encoding, the round trip and the commit
are inside it. Each function returns the seconds the workload took.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from _pg_common import Event, dsn

from eventsourcing_kit import NewEvent, connect
from eventsourcing_kit.stores import EventStore


async def open_store(schema: str, *, pool_size: int, **options: Any) -> EventStore:
    """A store in the fresh `schema` (migrated now), its pool already filled."""
    return await connect(dsn(), schema=schema, min_size=pool_size, max_size=pool_size, **options)


def _new(e: Event) -> NewEvent:
    return NewEvent(event_type=e.event_type, data=e.data, metadata=e.metadata, event_id=e.event_id)


async def single(store: EventStore, plan: Sequence[Event]) -> float:
    """One event per append, each with its exact expected version."""
    appends = [(e.stream_id, [_new(e)], e.version - 1) for e in plan]
    append = store.append_events
    start = time.perf_counter()
    for stream_id, events, expected in appends:
        await append(stream_id, events, expected_version=expected)
    return time.perf_counter() - start


async def batches(store: EventStore, plan: Sequence[Sequence[Event]]) -> float:
    """One append of `len(batch)` events per new stream (expected version 0)."""
    appends = [(batch[0].stream_id, [_new(e) for e in batch]) for batch in plan]
    start = time.perf_counter()
    for stream_id, events in appends:
        await store.append_events(stream_id, events, expected_version=0)
    return time.perf_counter() - start


async def concurrent(store: EventStore, plans: Sequence[Sequence[Event]]) -> float:
    """One task per plan, each appending to its own stream event by event."""

    async def write(appends: list[tuple[str, list[NewEvent], int]]) -> None:
        for stream_id, events, expected in appends:
            await store.append_events(stream_id, events, expected_version=expected)

    work = [[(e.stream_id, [_new(e)], e.version - 1) for e in plan] for plan in plans]
    start = time.perf_counter()
    await asyncio.gather(*(write(w) for w in work))
    return time.perf_counter() - start


async def seed(store: EventStore, plan: Sequence[Sequence[Event]]) -> None:
    await batches(store, plan)


async def read(store: EventStore, expected: int, *, batch_size: int | None = None) -> float:
    """`read_all` from the start: every event fetched, decoded, yielded."""
    options = {} if batch_size is None else {"batch_size": batch_size}
    start = time.perf_counter()
    decoded = [e async for e in store.read_all(**options)]
    elapsed = time.perf_counter() - start
    assert len(decoded) == expected, (len(decoded), expected)
    return elapsed
