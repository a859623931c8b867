"""Live delivery: NOTIFY wakes waiters of other store objects."""

from __future__ import annotations

import asyncio

import pytest
from postgres_support import open_store

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores._postgres import PostgresEventStore


@pytest.mark.parametrize("notify", ["coalesced", "after_commit", "in_transaction"])
async def test_an_append_through_another_store_wakes_a_waiter(
    pg_dsn: str, pg_store: PostgresEventStore, notify: str
) -> None:
    async with open_store(pg_dsn, pg_store.schema, notify=notify) as writer:
        assert await pg_store.wait_for_events(timeout=0.01) is False  # now listening
        waiter = asyncio.create_task(pg_store.wait_for_events(timeout=30))
        await asyncio.sleep(0.01)
        await writer.append_events("Ping-1", [NewEvent("Pinged", {})])
        assert await asyncio.wait_for(waiter, 10) is True


async def test_no_notify_leaves_other_stores_waiting_until_the_timeout(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    async with open_store(pg_dsn, pg_store.schema, notify="off") as writer:
        assert await pg_store.wait_for_events(timeout=0.01) is False
        waiter = asyncio.create_task(pg_store.wait_for_events(timeout=0.3))
        await asyncio.sleep(0.01)
        await writer.append_events("Ping-1", [NewEvent("Pinged", {})])
        assert await waiter is False


async def test_a_lost_listen_connection_is_reported_as_a_wake_up(
    pg_store: PostgresEventStore,
) -> None:
    assert await pg_store.wait_for_events(timeout=0.01) is False
    listening = pg_store._listener._connection
    await pg_store.pool.execute("SELECT pg_terminate_backend($1)", listening.get_server_pid())
    assert await asyncio.wait_for(pg_store.wait_for_events(timeout=30), 10) is True


async def test_after_a_lost_listen_connection_appends_wake_waiters_again(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    assert await pg_store.wait_for_events(timeout=0.01) is False
    listening = pg_store._listener._connection
    await pg_store.pool.execute("SELECT pg_terminate_backend($1)", listening.get_server_pid())
    while await pg_store.wait_for_events(timeout=0.05):
        pass  # the wake-ups that report the loss and the reconnection
    async with open_store(pg_dsn, pg_store.schema) as writer:
        waiter = asyncio.create_task(pg_store.wait_for_events(timeout=30))
        await asyncio.sleep(0.01)
        await writer.append_events("Ping-1", [NewEvent("Pinged", {})])
        assert await asyncio.wait_for(waiter, 10) is True


async def test_a_lost_notify_connection_is_opened_again_for_the_next_append(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    async with open_store(pg_dsn, pg_store.schema, notify_delay=0) as writer:
        await writer.append_events("Ping-1", [NewEvent("Pinged", {})])
        await writer._notifier.flush()  # the first NOTIFY is sent
        notifying = writer._notifier._connection
        assert notifying is not None
        await pg_store.pool.execute("SELECT pg_terminate_backend($1)", notifying.get_server_pid())
        assert await pg_store.wait_for_events(timeout=0.01) is False  # now listening
        waiter = asyncio.create_task(pg_store.wait_for_events(timeout=30))
        await asyncio.sleep(0.01)
        await writer.append_events("Ping-1", [NewEvent("Pinged", {})])
        assert await asyncio.wait_for(waiter, 10) is True


async def test_appends_in_a_burst_share_one_notify(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    async with open_store(pg_dsn, pg_store.schema, notify_delay=0.5) as writer:
        for version in range(5):
            await writer.append_events("Ping-1", [NewEvent("Pinged", {})], expected_version=version)
        await writer._notifier.flush()
        notifying = writer._notifier._connection
        assert notifying is not None
        # One NOTIFY went over the dedicated connection for the five appends.
        assert notifying._protocol.queries_count == 1
