"""The gap-free order: rows of running transactions hold later commits back."""

from __future__ import annotations

import pytest
from postgres_support import open_store

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores._postgres import PostgresEventStore


@pytest.fixture
async def impatient(pg_dsn: str, pg_store: PostgresEventStore) -> PostgresEventStore:
    async with open_store(pg_dsn, pg_store.schema, visibility_wait=0) as store:
        yield store


async def test_a_later_commit_waits_behind_an_older_running_transaction(
    pg_store: PostgresEventStore, impatient: PostgresEventStore
) -> None:
    async with pg_store.pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await pg_store.append_events("Slow-1", [NewEvent("Slow", {})], connection=connection)
        await pg_store.append_events("Fast-1", [NewEvent("Fast", {})])
        assert [e async for e in impatient.read_all()] == []
        assert await impatient.head_position() is None
        await transaction.commit()
    assert [e.stream_id async for e in pg_store.read_all()] == ["Slow-1", "Fast-1"]


async def test_a_reader_waits_briefly_for_its_own_commit_to_become_deliverable(
    pg_store: PostgresEventStore,
) -> None:
    async with pg_store.pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await pg_store.append_events("Slow-1", [NewEvent("Slow", {})], connection=connection)
        await pg_store.append_events("Fast-1", [NewEvent("Fast", {})])
        await transaction.rollback()
    assert [e.stream_id async for e in pg_store.read_all()] == ["Fast-1"]


async def test_floats_jsonb_would_print_as_ints_come_back_as_floats(
    pg_store: PostgresEventStore,
) -> None:
    data = {"big": 1e16, "huge": 1.5e300, "list": [2.0**60, -1e17], "text": "1e+16"}
    await pg_store.append_events("Account-1", [NewEvent("Measured", data)])
    [event] = [e async for e in pg_store.read_stream("Account-1")]
    assert event.data == data
    assert all(type(v) is float for v in [event.data["big"], *event.data["list"]])
