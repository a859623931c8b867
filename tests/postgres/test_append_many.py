"""Multi-stream appends on PostgreSQL: one transaction, all streams or none."""

from __future__ import annotations

import asyncio

import pytest
from postgres_support import open_store

from eventsourcing_kit import ExpectedVersion, NewEvent
from eventsourcing_kit.errors import ConcurrencyError, DuplicateEventError
from eventsourcing_kit.stores import StreamAppend
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier


def events(count: int, kind: str = "Noted") -> list[NewEvent]:
    return [NewEvent(kind, {"n": n}) for n in range(1, count + 1)]


async def stream_rows(store: PostgresEventStore, stream_id: str) -> int:
    streams = f"{quote_identifier(store.schema)}.streams"
    count: int = await store.pool.fetchval(
        f"SELECT count(*) FROM {streams} WHERE stream_id = $1", stream_id
    )
    return count


async def test_a_conflict_on_the_second_stream_stores_nothing_of_the_first(
    pg_store: PostgresEventStore,
) -> None:
    await pg_store.append_events("Stock-1", events(1), expected_version=0)
    with pytest.raises(ConcurrencyError) as raised:
        await pg_store.append_many(
            [
                StreamAppend("Order-1", events(2), expected_version=0),
                StreamAppend("Stock-1", events(1), expected_version=0),
            ]
        )
    assert (raised.value.stream_id, raised.value.expected, raised.value.actual) == (
        "Stock-1",
        0,
        1,
    )
    assert await pg_store.stream_version("Order-1") == 0
    assert await stream_rows(pg_store, "Order-1") == 0  # not even its row in streams
    assert [e.stream_id async for e in pg_store.read_all()] == ["Stock-1"]


async def test_a_missing_stream_that_must_exist_stores_nothing_of_the_first(
    pg_store: PostgresEventStore,
) -> None:
    with pytest.raises(ConcurrencyError) as raised:
        await pg_store.append_many(
            [
                StreamAppend("Order-1", events(1), expected_version=ExpectedVersion.ANY),
                StreamAppend("Stock-1", events(1), expected_version=ExpectedVersion.STREAM_EXISTS),
            ]
        )
    assert (raised.value.stream_id, raised.value.actual) == ("Stock-1", 0)
    assert await pg_store.head_position() is None


async def test_an_event_id_of_the_second_stream_stored_elsewhere_stores_nothing_of_the_first(
    pg_store: PostgresEventStore,
) -> None:
    # Its second event: the function looks only the first id up, so this
    # one stops on the unique index, in the middle of the transaction.
    [taken] = events(1)
    await pg_store.append_events("Other-1", [taken])
    with pytest.raises(DuplicateEventError) as raised:
        await pg_store.append_many(
            [
                StreamAppend("Order-1", events(2), expected_version=0),
                StreamAppend("Stock-1", [*events(1), taken], expected_version=0),
            ]
        )
    assert raised.value.event_id == taken.event_id
    assert await pg_store.stream_version("Order-1") == 0
    assert await pg_store.stream_version("Stock-1") == 0


async def test_appends_to_the_same_streams_in_opposite_orders_never_deadlock(
    pg_store: PostgresEventStore,
) -> None:
    # Every stream's row is locked first, in one order: a deadlock would
    # fail one of each pair with a TransientStoreError.
    rounds = 10
    for _ in range(rounds):
        await asyncio.gather(
            pg_store.append_many([StreamAppend("A-1", events(1)), StreamAppend("B-1", events(1))]),
            pg_store.append_many([StreamAppend("B-1", events(1)), StreamAppend("A-1", events(1))]),
        )
    assert await pg_store.stream_version("A-1") == 2 * rounds
    assert await pg_store.stream_version("B-1") == 2 * rounds


async def test_a_multi_stream_append_keeps_each_streams_events_together_in_the_global_order(
    pg_store: PostgresEventStore,
) -> None:
    results = await pg_store.append_many(
        [StreamAppend("Order-1", events(2)), StreamAppend("Stock-1", events(3))]
    )
    read = [e async for e in pg_store.read_all()]
    assert [(e.stream_id, e.version) for e in read] == [
        ("Order-1", 1),
        ("Order-1", 2),
        ("Stock-1", 1),
        ("Stock-1", 2),
        ("Stock-1", 3),
    ]
    assert len({e.position.parts[0] for e in read}) == 1  # one transaction
    assert [r.position for r in results] == [read[1].position, read[4].position]


@pytest.mark.parametrize("notify", ["coalesced", "after_commit", "in_transaction"])
async def test_a_multi_stream_append_wakes_a_waiter_of_another_store(
    pg_dsn: str, pg_store: PostgresEventStore, notify: str
) -> None:
    async with open_store(pg_dsn, pg_store.schema, notify=notify) as writer:
        assert await pg_store.wait_for_events(timeout=0.01) is False  # now listening
        waiter = asyncio.create_task(pg_store.wait_for_events(timeout=30))
        await asyncio.sleep(0.01)
        await writer.append_many(
            [StreamAppend("Order-1", events(1)), StreamAppend("Stock-1", events(1))]
        )
        assert await asyncio.wait_for(waiter, 10) is True


def order_and_stock() -> list[StreamAppend]:
    return [
        StreamAppend("Order-1", events(2), expected_version=0),
        StreamAppend("Stock-1", events(1), expected_version=0),
    ]


async def test_several_streams_commit_with_the_callers_transaction(
    pg_store: PostgresEventStore,
) -> None:
    async with pg_store.pool.acquire() as connection, connection.transaction():
        results = await pg_store.append_many(order_and_stock(), connection=connection)
        assert await pg_store.stream_version("Order-1") == 0  # not committed yet
    assert [(r.stream_id, r.version) for r in results] == [("Order-1", 2), ("Stock-1", 1)]
    assert await pg_store.stream_version("Order-1") == 2
    assert await pg_store.stream_version("Stock-1") == 1


async def test_a_conflict_in_the_callers_transaction_undoes_only_the_append(
    pg_store: PostgresEventStore,
) -> None:
    await pg_store.append_events("Stock-1", events(1), expected_version=0)
    async with pg_store.pool.acquire() as connection, connection.transaction():
        await pg_store.append_events("Before-1", events(1), connection=connection)
        with pytest.raises(ConcurrencyError) as raised:
            await pg_store.append_many(order_and_stock(), connection=connection)
        # A savepoint was rolled back, not the caller's transaction.
        await pg_store.append_events("After-1", events(1), connection=connection)
    assert (raised.value.stream_id, raised.value.actual) == ("Stock-1", 1)
    assert getattr(raised.value, "__notes__", []) == []  # nothing to roll back
    assert await pg_store.stream_version("Order-1") == 0
    assert await pg_store.stream_version("Before-1") == 1
    assert await pg_store.stream_version("After-1") == 1
