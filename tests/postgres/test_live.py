"""Live delivery: NOTIFY wakes waiters of other store objects."""

from __future__ import annotations

import asyncio
import time

import pytest
from postgres_support import open_store

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.postgres import PostgresEventStore, channel_for


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
    listening = pg_store._driver._listener._connection
    await pg_store.pool.execute("SELECT pg_terminate_backend($1)", listening.get_server_pid())
    assert await asyncio.wait_for(pg_store.wait_for_events(timeout=30), 10) is True


async def test_after_a_lost_listen_connection_appends_wake_waiters_again(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    assert await pg_store.wait_for_events(timeout=0.01) is False
    listening = pg_store._driver._listener._connection
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
        await writer._driver._notifier.flush()  # the first NOTIFY is sent
        notifying = writer._driver._notifier._connection
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
        await writer._driver._notifier.flush()
        notifying = writer._driver._notifier._connection
        assert notifying is not None
        # One NOTIFY went over the dedicated connection for the five appends.
        assert notifying._protocol.queries_count == 1


async def test_a_busy_writers_notify_rides_on_its_next_append(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    # Appends go on for longer than notify_delay: the NOTIFY owed for the
    # first ones goes out inside a later append's transaction, so the
    # dedicated NOTIFY connection is never opened while they go on.
    delay = 0.05
    heard: list[float] = []

    def hear(*_: object) -> None:
        heard.append(time.monotonic())

    listener = await pg_store.pool.acquire()
    try:
        await listener.add_listener(channel_for(pg_store.schema), hear)
        async with open_store(pg_dsn, pg_store.schema, notify_delay=delay) as writer:
            started = time.monotonic()
            version = 0
            while time.monotonic() - started < 3 * delay:
                await writer.append_events(
                    "Ping-1", [NewEvent("Pinged", {})], expected_version=version
                )
                version += 1
            stopped = time.monotonic()
            await asyncio.sleep(0.01)  # let the NOTIFYs of those commits arrive
            assert writer._driver._notifier._connection is None
            assert any(at < stopped + 0.01 for at in heard)
            # Far fewer NOTIFYs than appends: at most one per notify_delay.
            assert len(heard) <= 4 < version
            # The last commits are announced too, by the background task.
            await writer._driver._notifier.flush()
            await asyncio.sleep(0.05)
            assert heard[-1] > stopped
    finally:
        await listener.remove_listener(channel_for(pg_store.schema), hear)
        await pg_store.pool.release(listener)


async def test_a_lone_appends_notify_goes_out_after_notify_delay_not_later(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    # 1.5 times notify_delay is only for a store that keeps appending.
    delay = 0.2
    heard = asyncio.Event()
    listener = await pg_store.pool.acquire()

    def hear(*_: object) -> None:
        heard.set()

    try:
        await listener.add_listener(channel_for(pg_store.schema), hear)
        async with open_store(pg_dsn, pg_store.schema, notify_delay=delay) as writer:
            await writer.append_events("Ping-1", [NewEvent("Pinged", {})])
            appended = time.monotonic()
            await asyncio.wait_for(heard.wait(), 10)
            assert time.monotonic() - appended < 1.4 * delay
    finally:
        await listener.remove_listener(channel_for(pg_store.schema), hear)
        await pg_store.pool.release(listener)
