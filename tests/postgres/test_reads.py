"""The gap-free order: rows of running transactions hold later commits back."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import uuid
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from postgres_support import open_store, watched_pool

from eventsourcing_kit import NewEvent, Position, RecordedEvent
from eventsourcing_kit.stores.postgres import PostgresEventStore


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


async def test_a_reader_stopped_early_gives_its_page_ahead_back(
    pg_store: PostgresEventStore,
) -> None:
    await pg_store.append_events("Page-1", [NewEvent("Paged", {"n": n}) for n in range(10)])
    async with contextlib.aclosing(pg_store.read_all(batch_size=2)) as events:
        async for event in events:
            assert event.data == {"n": 0}
            break
    # The store keeps connections between its statements for a moment
    # (docs/postgres.md, "Connections"); all are back in the pool once it sits idle.
    for _ in range(100):
        if pg_store.pool.get_idle_size() == pg_store.pool.get_size():
            break
        await asyncio.sleep(0.01)
    assert pg_store.pool.get_idle_size() == pg_store.pool.get_size()


async def test_pages_read_ahead_keep_the_order(pg_store: PostgresEventStore) -> None:
    for stream in range(3):
        await pg_store.append_events(
            f"Page-{stream}", [NewEvent("Paged", {"n": n}) for n in range(5)]
        )
    read = [(e.stream_id, e.version) async for e in pg_store.read_all(batch_size=2)]
    assert read == [(f"Page-{s}", v) for s in range(3) for v in range(1, 6)]


async def test_the_page_ahead_is_asked_for_before_the_caller_finishes_the_page(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    await pg_store.append_events("Page-1", [NewEvent("Paged", {"n": n}) for n in range(6)])
    # Where the first page of 3 ends: the page ahead is read from there.
    third = [e async for e in pg_store.read_all()][2]
    async with watched_pool(pg_dsn) as watched:
        store = await PostgresEventStore.from_pool(
            watched.pool, schema=pg_store.schema, migrate=False
        )
        async with contextlib.aclosing(store.read_all(batch_size=3)) as events:
            first = await anext(events)
            # Nothing but the first event was awaited: the second page's query
            # went out while the first page was being handed over. How many
            # queries the first page took is not the point: on a shared server
            # another session's running transaction can hold the new events back
            # for a moment, and the reader then waits and asks again.
            assert first.data == {"n": 0}
            assert watched.last().args == (*third.position.parts, 3)
        await store.close()


def test_a_stored_event_built_without_init_equals_the_constructed_one() -> None:
    values: dict[str, Any] = {
        "stream_id": "Built-1",
        "version": 3,
        "event_type": "Built",
        "data": {"a": 1},
        "metadata": {"correlation_id": "c"},
        "event_id": uuid.uuid4(),
        "global_position": 7,
        "ordering": 12,
        "recorded_at": datetime.datetime.now(datetime.UTC),
    }
    built = RecordedEvent.from_stored(**values)
    assert built == RecordedEvent(**values)
    assert built.position == Position(12, 7)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.version = 4  # type: ignore[misc]


@pytest.fixture
async def patient(pg_dsn: str, pg_store: PostgresEventStore) -> AsyncIterator[PostgresEventStore]:
    # Waits far longer than the test's guard: a wait on a held-back event
    # shows as a timeout, not as a slow pass.
    async with open_store(pg_dsn, pg_store.schema, visibility_wait=600) as store:
        yield store


@pytest.mark.parametrize("reader", ["category", "event_types", "category_and_types"])
async def test_a_filtered_reader_does_not_wait_on_held_back_events_it_would_not_get(
    patient: PostgresEventStore, reader: str
) -> None:
    await patient.append_events("Account-1", [NewEvent("Opened", {})])
    async with patient.pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        try:
            await connection.fetchval("SELECT pg_current_xact_id()")  # an older running xid
            await patient.append_events("Other-1", [NewEvent("Noted", {})])  # held back
            if reader == "category":
                read = patient.read_category("Account")
            elif reader == "event_types":
                read = patient.read_all(event_types=["Opened"])
            else:
                read = patient.read_category("Account", event_types=["Opened"])
            events = await asyncio.wait_for(_collect(read), timeout=20)
        finally:
            await transaction.rollback()
    assert [event.stream_id for event in events] == ["Account-1"]


async def _collect(events: AsyncIterator[RecordedEvent]) -> list[RecordedEvent]:
    return [event async for event in events]
