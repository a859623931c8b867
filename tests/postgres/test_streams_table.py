"""The streams table: one row per stream, holding the version its events reached."""

from __future__ import annotations

import asyncio

import pytest
from postgres_support import open_store

from eventsourcing_kit import ExpectedVersion, NewEvent
from eventsourcing_kit.errors import ConcurrencyError
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier


async def versions(store: PostgresEventStore) -> tuple[dict[str, int], dict[str, int]]:
    """Each stream's version in `streams`, and its last event's version."""
    s = quote_identifier(store.schema)
    rows = await store.pool.fetch(f"SELECT stream_id, version FROM {s}.streams WHERE version > 0")
    last = await store.pool.fetch(
        f"SELECT stream_id, max(version) FROM {s}.events GROUP BY stream_id"
    )
    return {r[0]: r[1] for r in rows}, {r[0]: r[1] for r in last}


async def test_every_append_path_keeps_the_streams_version_at_its_last_event(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    def one() -> list[NewEvent]:
        return [NewEvent("Happened", {})]

    def two() -> list[NewEvent]:
        return [NewEvent("Happened", {}), NewEvent("Happened", {})]

    await pg_store.append_events("A-1", one(), expected_version=0)  # one statement, new
    await pg_store.append_events("A-1", two(), expected_version=1)  # one statement, batch
    await pg_store.append_events("A-1", one())  # ANY: append_event()
    await pg_store.append_events("A-1", two(), expected_version=ExpectedVersion.STREAM_EXISTS)
    await pg_store.append_events("B-1", two(), expected_version=0)  # batch, new stream
    await pg_store.append_events("C-1", two())  # ANY, new stream: append_events()
    async with pg_store.pool.acquire() as connection, connection.transaction():
        await pg_store.append_events("B-1", one(), expected_version=2, connection=connection)
    async with open_store(pg_dsn, pg_store.schema, group_commit=True) as grouped:
        await asyncio.gather(  # at least some of these go as a group
            *(grouped.append_events(f"G-{n}", one(), expected_version=0) for n in range(8)),
            *(grouped.append_events("A-1", one()) for _ in range(3)),
        )
    in_streams, in_events = await versions(pg_store)
    assert in_streams == in_events
    assert in_events["A-1"] == 9


async def test_a_rolled_back_append_leaves_the_streams_version_as_it_was(
    pg_store: PostgresEventStore,
) -> None:
    await pg_store.append_events("A-1", [NewEvent("Happened", {})], expected_version=0)
    async with pg_store.pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await pg_store.append_events(
            "A-1", [NewEvent("Happened", {})], expected_version=1, connection=connection
        )
        await transaction.rollback()
    assert await pg_store.stream_version("A-1") == 1
    await pg_store.append_events("A-1", [NewEvent("Happened", {})], expected_version=1)
    in_streams, in_events = await versions(pg_store)
    assert in_streams == in_events == {"A-1": 2}


@pytest.mark.parametrize("count", [1, 3])
async def test_a_stream_claimed_by_an_append_that_wrote_nothing_can_still_be_created(
    pg_store: PostgresEventStore, count: int
) -> None:
    # STREAM_EXISTS on a missing stream goes through append_events(), which
    # creates the stream's row at version 0 before it finds the mismatch.
    events = [NewEvent("Happened", {}) for _ in range(count)]
    with pytest.raises(ConcurrencyError):
        await pg_store.append_events("A-1", events, expected_version=ExpectedVersion.STREAM_EXISTS)
    result = await pg_store.append_events("A-1", events, expected_version=0)
    assert result.version == count
