"""The kit: the same workloads through its public API only.

Only the package's top-level names (``NewEvent``, ``PostgresEventStore``)
and what its stores have long offered (``open``, ``append_events``,
``read_all``, ``close``), so that compare.py can run this module against
older trees than the one it lives in, before and after the backends became
subpackages.

Appends always pass an exact `expected_version` (the check is part of what
is measured). `NewEvent` objects are built before the clock starts, like the
raw rows' tuples; validation, JSON encoding, the round trip and the commit
are inside it. Each workload returns what it cost (`Timing`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from _pg_common import Event, Stopwatch, Timing, dsn, warmup_plan

from eventsourcing_kit import NewEvent, PostgresEventStore


async def open_store(schema: str, *, pool_size: int, **options: Any) -> PostgresEventStore:
    """A store in the fresh `schema` (migrated now), its pool already filled.

    Its connections carry application_name = `schema`, for the Stopwatch.
    """
    url = dsn()
    url += ("&" if "?" in url else "?") + f"application_name={schema}"
    return await PostgresEventStore.open(
        url, schema=schema, min_size=pool_size, max_size=pool_size, **options
    )


@asynccontextmanager
async def store_in(
    schema: str, *, pool_size: int, **options: Any
) -> AsyncIterator[PostgresEventStore]:
    """A store in the fresh `schema`, closed (with its pool) afterwards."""
    store = await open_store(schema, pool_size=pool_size, **options)
    try:
        yield store
    finally:
        await store.close()


def _new(e: Event) -> NewEvent:
    return NewEvent(event_type=e.event_type, data=e.data, metadata=e.metadata, event_id=e.event_id)


async def _warm_up(store: PostgresEventStore, connections: int) -> None:
    """Make every pool connection prepare the statements of one-event and
    several-event appends, untimed, as in a long-running application."""
    for _ in range(2):
        await asyncio.gather(
            *(
                store.append_events(e.stream_id, [_new(e)], expected_version=0)
                for e in warmup_plan(connections)
            )
        )
        await asyncio.gather(
            *(
                store.append_events(
                    f"Warm-{uuid.uuid4()}",
                    [NewEvent("Warmed", {}), NewEvent("Warmed", {})],
                    expected_version=0,
                )
                for _ in range(connections)
            )
        )
    await asyncio.sleep(0.05)  # let a background NOTIFY of the warm-up finish


async def single(store: PostgresEventStore, schema: str, plan: Sequence[Event]) -> Timing:
    """One event per append, each with its exact expected version."""
    appends = [(e.stream_id, [_new(e)], e.version - 1) for e in plan]
    append = store.append_events
    await _warm_up(store, 2)
    watch = Stopwatch(schema)
    for stream_id, events, expected in appends:
        await append(stream_id, events, expected_version=expected)
    return watch.stop()


async def batches(
    store: PostgresEventStore, schema: str, plan: Sequence[Sequence[Event]]
) -> Timing:
    """One append of `len(batch)` events per new stream (expected version 0)."""
    appends = [(batch[0].stream_id, [_new(e) for e in batch]) for batch in plan]
    await _warm_up(store, 2)
    watch = Stopwatch(schema)
    for stream_id, events in appends:
        await store.append_events(stream_id, events, expected_version=0)
    return watch.stop()


async def concurrent(
    store: PostgresEventStore, schema: str, plans: Sequence[Sequence[Event]]
) -> Timing:
    """One task per plan, each appending to its own stream event by event."""

    async def write(appends: list[tuple[str, list[NewEvent], int]]) -> None:
        for stream_id, events, expected in appends:
            await store.append_events(stream_id, events, expected_version=expected)

    work = [[(e.stream_id, [_new(e)], e.version - 1) for e in plan] for plan in plans]
    await _warm_up(store, len(plans) + 1)
    watch = Stopwatch(schema)
    await asyncio.gather(*(write(w) for w in work))
    return watch.stop()


async def seed(store: PostgresEventStore, plan: Sequence[Sequence[Event]]) -> None:
    for batch in plan:
        await store.append_events(batch[0].stream_id, [_new(e) for e in batch], expected_version=0)


async def read(store: PostgresEventStore, schema: str, expected: int, **options: Any) -> Timing:
    """`read_all` from the start: every event fetched, decoded, yielded.

    `options` go to `read_all` (the benchmark passes ``batch_size``).
    """
    watch = Stopwatch(schema)
    decoded = [e async for e in store.read_all(**options)]
    elapsed = watch.stop()
    assert len(decoded) == expected, (len(decoded), expected)
    return elapsed
