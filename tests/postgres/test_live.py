"""Live delivery: NOTIFY wakes waiters of other store objects.

Which connection LISTENs is seen from the side of the pool's owner
(`watched_pool`); which session sent a NOTIFY, from the notification itself
(PostgreSQL names the sender's server pid).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from postgres_support import WatchedPool, open_store, until, watched_pool

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.postgres import PostgresEventStore, channel_for


@pytest.fixture
async def watched(pg_dsn: str) -> AsyncIterator[WatchedPool]:
    async with watched_pool(pg_dsn) as watched:
        yield watched


@pytest.fixture
async def waiter(
    pg_store: PostgresEventStore, watched: WatchedPool
) -> AsyncIterator[PostgresEventStore]:
    """A store on the `watched` pool, on pg_store's schema, that waits for events."""
    store = await PostgresEventStore.from_pool(watched.pool, schema=pg_store.schema, migrate=False)
    yield store
    await store.close()


async def terminate_backend(dsn: str, pid: int) -> None:
    """End server process `pid` from another connection, as an admin would."""
    connection = await asyncpg.connect(dsn)
    try:
        assert await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


class Heard:
    """The NOTIFYs a session of the test's own hears on a store's channel:
    when each arrived and which server process sent it."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self.connection = connection
        self.at: list[float] = []
        self.pids: list[int] = []

    def __call__(self, connection: object, pid: int, channel: str, payload: object) -> None:
        self.at.append(time.monotonic())
        self.pids.append(pid)

    async def settle(self) -> None:
        """Wait until every NOTIFY committed so far has been heard: the server
        sends a listening session its notifications before it answers."""
        await self.connection.execute("SELECT 1")
        await asyncio.sleep(0.01)  # asyncpg calls the listener soon after reading it


@pytest.fixture
async def heard(pg_dsn: str, pg_store: PostgresEventStore) -> AsyncIterator[Heard]:
    listener = await asyncpg.connect(pg_dsn)
    heard = Heard(listener)
    try:
        await listener.add_listener(channel_for(pg_store.schema), heard)
        yield heard
    finally:
        await listener.close()


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
    pg_dsn: str, waiter: PostgresEventStore, watched: WatchedPool
) -> None:
    assert await waiter.wait_for_events(timeout=0.01) is False
    [listening] = watched.listening
    await terminate_backend(pg_dsn, listening.get_server_pid())
    assert await asyncio.wait_for(waiter.wait_for_events(timeout=30), 10) is True


async def test_after_a_lost_listen_connection_appends_wake_waiters_again(
    pg_dsn: str, waiter: PostgresEventStore, watched: WatchedPool
) -> None:
    assert await waiter.wait_for_events(timeout=0.01) is False
    [listening] = watched.listening
    await terminate_backend(pg_dsn, listening.get_server_pid())
    while await waiter.wait_for_events(timeout=0.05):
        pass  # the wake-ups that report the loss and the reconnection
    async with open_store(pg_dsn, waiter.schema) as writer:
        waiting = asyncio.create_task(waiter.wait_for_events(timeout=30))
        await asyncio.sleep(0.01)
        await writer.append_events("Ping-1", [NewEvent("Pinged", {})])
        assert await asyncio.wait_for(waiting, 10) is True


async def test_a_lost_notify_connection_is_opened_again_for_the_next_append(
    pg_dsn: str, pg_store: PostgresEventStore, heard: Heard
) -> None:
    async with open_store(pg_dsn, pg_store.schema, notify_delay=0) as writer:
        await writer.append_events("Ping-1", [NewEvent("Pinged", {})])
        # Its NOTIFY, from the writer's connection for NOTIFYs.
        assert await until(lambda: len(heard.pids) == 1)
        [notifying] = heard.pids
        await terminate_backend(pg_dsn, notifying)
        assert await pg_store.wait_for_events(timeout=0.01) is False  # now listening
        waiter = asyncio.create_task(pg_store.wait_for_events(timeout=30))
        await asyncio.sleep(0.01)
        await writer.append_events("Ping-1", [NewEvent("Pinged", {})])
        assert await asyncio.wait_for(waiter, 10) is True
        assert await until(lambda: len(heard.pids) == 2)
        assert heard.pids[1] != notifying  # from a connection opened again


async def test_appends_in_a_burst_share_one_notify(
    pg_dsn: str, pg_store: PostgresEventStore, heard: Heard
) -> None:
    async with open_store(pg_dsn, pg_store.schema, notify_delay=0.5) as writer:
        for version in range(5):
            await writer.append_events("Ping-1", [NewEvent("Pinged", {})], expected_version=version)
    # Closed: every NOTIFY still due went out.
    await heard.settle()
    # One NOTIFY for the five appends.
    assert len(heard.pids) == 1


async def test_a_busy_writers_notify_rides_on_its_next_append(
    pg_dsn: str, pg_store: PostgresEventStore, heard: Heard
) -> None:
    # Appends go on for longer than notify_delay: the NOTIFY owed for the
    # first ones goes out inside a later append's transaction, so the
    # writer's connection for NOTIFYs is never opened while they go on.
    # (A delay long against one append even on a loaded machine: the
    # background task sends when no append started for 1.5 delays.)
    delay = 0.2
    async with open_store(pg_dsn, pg_store.schema, notify_delay=delay) as writer:
        started = time.monotonic()
        version = 0
        while time.monotonic() - started < 3 * delay:
            await writer.append_events("Ping-1", [NewEvent("Pinged", {})], expected_version=version)
            version += 1
        stopped = time.monotonic()
        await asyncio.sleep(0.01)  # let the NOTIFYs of those commits arrive
        during = [at for at in heard.at if at < stopped + 0.01]
        assert during
        # Far fewer NOTIFYs than appends: at most one per notify_delay.
        assert len(during) <= 4 < version
        # The last commits are announced too, by the background task, over
        # the writer's connection for NOTIFYs: opened only after the last append.
        assert await until(lambda: heard.at[-1] > stopped)
        [last] = [e async for e in writer.read_stream("Ping-1", from_version=version)]
        opened = await writer.pool.fetchval(
            "SELECT backend_start FROM pg_stat_activity WHERE pid = $1", heard.pids[-1]
        )
        assert opened > last.recorded_at


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
