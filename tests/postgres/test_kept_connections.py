"""The pool connections the store keeps between its statements, and the listener's.

The store keeps up to four pool connections between its own statements
(docs/postgres.md, "Connections"). Each must go back to the pool when the
store sits idle, on close, after a failed or cancelled statement, and
whenever the pool has nothing else free; a kept connection that closed
meanwhile must not be handed out. The listener must give its LISTEN
connection back when its waiter is cancelled mid-LISTEN, and take none once
the store closes.

The pool's count of connections lent out (`lent_out`) is the measure: kept
connections are acquired from the pool, so they count. Which connection ran
a statement is seen from the pool owner's side (`watched_pool`). A statement
is held on the server by locking the table it reads (`table_locked`):
`stream_version` reads `events`.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import asyncpg
import pytest
from postgres_support import (
    lent_out,
    open_store,
    table_locked,
    until,
    users_pool,
    waiting_for_lock,
    watched_pool,
)

from eventsourcing_kit import NewEvent
from eventsourcing_kit.errors import TransientStoreError
from eventsourcing_kit.stores.postgres import PostgresEventStore

# Four: the most the store keeps (docs/postgres.md, "Connections").
KEPT_AT_MOST = 4


async def terminate_backend(dsn: str, pid: int) -> None:
    """End server process `pid` from another connection, as an admin would."""
    connection = await asyncpg.connect(dsn)
    try:
        assert await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


async def closed_by_the_server(dsn: str, connection: asyncpg.Connection) -> None:
    """Terminate `connection`'s backend and wait until the client has noticed."""
    lost = asyncio.Event()
    connection.add_termination_listener(lambda _connection: lost.set())
    await terminate_backend(dsn, connection.get_server_pid())
    await asyncio.wait_for(lost.wait(), 10)


def named(dsn: str, application_name: str) -> str:
    """`dsn` with an ``application_name``, which every connection opened on it carries."""
    parts = urlsplit(dsn)
    query = "&".join(filter(None, [parts.query, urlencode({"application_name": application_name})]))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


async def backends_named(dsn: str, application_name: str) -> list[int]:
    """The server pids of the connections that carry `application_name`."""
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", application_name
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


@asynccontextmanager
async def named_store(
    dsn: str, schema: str, **options: Any
) -> AsyncIterator[tuple[PostgresEventStore, str]]:
    """A store with a pool of its own whose connections carry a name of their
    own on the server, to find them in pg_stat_activity; closed afterwards.

    Its pool starts empty and keeps no minimum (`min_size=0`): a connection
    the server ends is not replaced behind the test's back.
    """
    name = f"eskit-test-{secrets.token_hex(6)}"
    store = await PostgresEventStore.open(
        named(dsn, name), schema=schema, migrate=False, min_size=0, **options
    )
    try:
        yield store, name
    finally:
        if not store.pool.is_closing():
            await store.close()


def listen_held(
    started: asyncio.Event, gate: asyncio.Event, *, error: BaseException | None = None
) -> type[asyncpg.Connection]:
    """Connections whose LISTEN waits for `gate` (`started` set meanwhile),
    then fails with `error` if given: the pool's owner slows the network."""

    class HeldListen(asyncpg.Connection):
        async def add_listener(self, channel: str, callback: Any) -> None:
            started.set()
            await gate.wait()
            if error is not None:
                raise error
            await super().add_listener(channel, callback)

    return HeldListen


async def statements(store: PostgresEventStore, count: int) -> None:
    """`count` of the store's statements at once."""
    await asyncio.gather(*(store.stream_version(f"Kept-{n}") for n in range(count)))


# --- keeping ------------------------------------------------------------------


async def test_the_next_statement_runs_on_the_kept_connection(pg_dsn: str, pg_schema: str) -> None:
    async with watched_pool(pg_dsn) as watched:
        store = await PostgresEventStore.from_pool(watched.pool, schema=pg_schema, migrate=False)
        await store.stream_version("Kept-1")
        first = watched.last().connection.get_server_pid()
        # Without keeping, the pool would lend this just-released connection
        # to the code below and the store's next statement would get another.
        async with watched.pool.acquire() as borrowed:
            assert borrowed.get_server_pid() != first
            await store.stream_version("Kept-1")
            assert watched.last().connection.get_server_pid() == first
        await store.close()


async def test_appends_and_reads_leave_their_connection_with_the_store(
    pg_dsn: str, pg_schema: str
) -> None:
    async with watched_pool(pg_dsn) as watched:
        # notify="off": no NOTIFY borrows a pool connection meanwhile.
        store = await PostgresEventStore.from_pool(
            watched.pool, schema=pg_schema, migrate=False, notify="off"
        )
        await store.append_events("Kept-1", [NewEvent("Opened", {})])
        assert lent_out(watched.pool) == 1
        kept = watched.last().connection.get_server_pid()
        assert [e.event_type async for e in store.read_stream("Kept-1")] == ["Opened"]
        assert watched.last().connection.get_server_pid() == kept
        assert lent_out(watched.pool) == 1
        await store.close()


async def test_the_store_keeps_no_more_than_four_connections(pg_dsn: str, pg_schema: str) -> None:
    # Connections opened beforehand: the statements finish within the 50 ms
    # the store keeps its connections unused.
    async with open_store(pg_dsn, pg_schema, min_size=KEPT_AT_MOST + 2, max_size=20) as store:
        await statements(store, KEPT_AT_MOST + 2)
        assert lent_out(store.pool) == KEPT_AT_MOST


async def test_kept_connections_go_back_to_the_pool_once_the_store_sits_idle(
    pg_store: PostgresEventStore,
) -> None:
    await statements(pg_store, 3)
    assert lent_out(pg_store.pool) == 3
    assert await until(lambda: lent_out(pg_store.pool) == 0)


async def test_closing_a_store_on_a_users_pool_leaves_none_of_its_connections_acquired(
    pg_dsn: str, pg_schema: str
) -> None:
    async with users_pool(pg_dsn, min_size=3, max_size=5) as pool:
        store = await PostgresEventStore.from_pool(pool, schema=pg_schema, migrate=False)
        await store.append_events("Kept-1", [NewEvent("Opened", {})])
        await statements(store, 3)
        assert lent_out(pool) == 3
        await store.close()
        assert lent_out(pool) == 0
        await asyncio.wait_for(pool.close(), 10)  # hang guard


async def test_a_statement_still_running_when_the_store_closes_gives_its_connection_back(
    pg_dsn: str, pg_schema: str
) -> None:
    async with users_pool(pg_dsn, max_size=5) as pool:
        store = await PostgresEventStore.from_pool(pool, schema=pg_schema, migrate=False)
        async with table_locked(pg_dsn, pg_schema, "events"):
            running = asyncio.create_task(store.stream_version("Kept-1"))
            await waiting_for_lock(pg_dsn, pg_schema, "events")
            await store.close()
        assert await running == 0
        assert lent_out(pool) == 0
        await asyncio.wait_for(pool.close(), 10)  # hang guard


# --- sharing the pool ---------------------------------------------------------


async def test_the_store_never_keeps_the_pools_last_free_connection(
    pg_dsn: str, pg_schema: str
) -> None:
    async with (
        open_store(pg_dsn, pg_schema, min_size=1, max_size=2) as store,
        store.pool.acquire() as held,
    ):
        assert await store.stream_version("Kept-1") == 0
        assert store.pool.get_idle_size() == 1
        async with store.pool.acquire(timeout=5) as other:
            assert other.get_server_pid() != held.get_server_pid()


async def test_a_kept_connection_goes_back_at_the_next_statement_once_the_pool_ran_out(
    pg_dsn: str, pg_schema: str
) -> None:
    async with open_store(pg_dsn, pg_schema, min_size=1, max_size=2) as store:
        await store.stream_version("Kept-1")
        assert lent_out(store.pool) == 1  # kept: the pool had room for one more
        async with store.pool.acquire():  # ... which this takes
            await store.stream_version("Kept-1")
            assert store.pool.get_idle_size() == 1


async def test_a_task_waiting_for_the_connection_the_store_kept_gets_it_when_the_store_idles(
    pg_dsn: str, pg_schema: str
) -> None:
    async with watched_pool(pg_dsn, max_size=2) as watched:
        store = await PostgresEventStore.from_pool(watched.pool, schema=pg_schema, migrate=False)
        await store.stream_version("Kept-1")
        kept = watched.last().connection.get_server_pid()
        async with watched.pool.acquire():
            # Hang guard only: the store gives it back after 50 ms unused.
            waited = await asyncio.wait_for(watched.pool.acquire(), 10)
            try:
                assert waited.get_server_pid() == kept
            finally:
                await watched.pool.release(waited)
        await store.close()


# --- failures -----------------------------------------------------------------


async def test_a_statement_that_fails_gives_its_connection_back(
    pg_dsn: str, pg_schema: str
) -> None:
    async with open_store(pg_dsn, pg_schema, statement_timeout=0.2) as store:
        await store.stream_version("Kept-1")
        assert lent_out(store.pool) == 1
        async with table_locked(pg_dsn, pg_schema, "events"):
            with pytest.raises(TransientStoreError):  # cancelled by statement_timeout
                await store.stream_version("Kept-1")
        assert lent_out(store.pool) == 0
        assert await store.stream_version("Kept-1") == 0


async def test_a_cancelled_statement_gives_its_connection_back(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    await pg_store.stream_version("Kept-1")
    async with table_locked(pg_dsn, pg_store.schema, "events"):
        statement = asyncio.create_task(pg_store.stream_version("Kept-1"))
        await waiting_for_lock(pg_dsn, pg_store.schema, "events")
        statement.cancel()
        await asyncio.gather(statement, return_exceptions=True)
        assert statement.cancelled()
        assert lent_out(pg_store.pool) == 0
    assert await pg_store.stream_version("Kept-1") == 0


async def test_a_kept_connection_the_server_ended_is_not_handed_out(
    pg_dsn: str, pg_schema: str
) -> None:
    async with named_store(pg_dsn, pg_schema) as (store, name):
        await store.stream_version("Kept-1")
        [kept] = await backends_named(pg_dsn, name)  # the pool's one connection, kept
        await terminate_backend(pg_dsn, kept)
        # Waits until the client has read the server's goodbye: a statement sent
        # before that meets asyncpg's own race (ConnectionDoesNotExistError or
        # InternalClientError), not the store's.
        assert await until(lambda: store.pool.get_size() == 0)
        assert await store.stream_version("Kept-1") == 0
        assert kept not in await backends_named(pg_dsn, name)


async def test_a_kept_connection_closed_meanwhile_is_not_handed_out(
    pg_dsn: str, pg_schema: str
) -> None:
    async with watched_pool(pg_dsn) as watched:
        store = await PostgresEventStore.from_pool(watched.pool, schema=pg_schema, migrate=False)
        await store.stream_version("Kept-1")
        kept = watched.last().connection
        before = kept.get_server_pid()
        kept.terminate()  # the pool's owner closes it
        assert await store.stream_version("Kept-1") == 0
        assert watched.last().connection.get_server_pid() != before
        await store.close()


async def test_closing_a_store_whose_kept_connection_closed_still_closes_its_pool(
    pg_dsn: str, pg_schema: str
) -> None:
    async with named_store(pg_dsn, pg_schema) as (store, name):
        await store.stream_version("Kept-1")
        [kept] = await backends_named(pg_dsn, name)  # the pool's one connection, kept
        await terminate_backend(pg_dsn, kept)
        assert await until(lambda: store.pool.get_size() == 0)  # the client noticed
        await asyncio.wait_for(store.close(), 10)  # hang guard
        assert store.pool.is_closing()


async def test_a_kept_connection_that_closed_does_not_keep_the_others_from_the_pool(
    pg_dsn: str, pg_schema: str
) -> None:
    async with named_store(pg_dsn, pg_schema) as (store, name):
        # Two kept connections in a known order: the snapshot read waits for
        # the lock while the version read finishes, so the version read's
        # connection is kept first, and is the first given back once idle.
        async with table_locked(pg_dsn, pg_schema, "snapshots"):
            later = asyncio.create_task(store.load_snapshot("Kept-1"))
            waiting = await waiting_for_lock(pg_dsn, pg_schema, "snapshots")
            await store.stream_version("Kept-1")
        assert await later is None
        assert lent_out(store.pool) == 2
        [first] = [pid for pid in await backends_named(pg_dsn, name) if pid != waiting]
        await terminate_backend(pg_dsn, first)
        assert await until(lambda: store.pool.get_size() == 1)  # the client noticed
        assert await until(lambda: lent_out(store.pool) == 0)


# --- the listener -------------------------------------------------------------


async def test_a_waiter_cancelled_during_listen_gives_the_connection_back(
    pg_dsn: str, pg_schema: str
) -> None:
    started, gate = asyncio.Event(), asyncio.Event()
    connections = listen_held(started, gate)
    async with users_pool(pg_dsn, max_size=4, connection_class=connections) as pool:
        store = await PostgresEventStore.from_pool(pool, schema=pg_schema, migrate=False)
        waiter = asyncio.create_task(store.wait_for_events(timeout=10))
        await asyncio.wait_for(started.wait(), 10)
        # The waiter took a pool connection and is in its LISTEN.
        assert lent_out(pool) == 1
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        assert waiter.cancelled()
        assert lent_out(pool) == 0
        await store.close()
        assert lent_out(pool) == 0
        await asyncio.wait_for(pool.close(), 10)  # hang guard


async def test_a_waiter_queued_when_the_store_closes_takes_no_connection(
    pg_dsn: str, pg_schema: str
) -> None:
    # The first waiter's LISTEN is held, then fails (the network, say); the
    # second waits behind it. Once the store has begun closing, the second
    # must not take a connection to LISTEN again.
    started, gate = asyncio.Event(), asyncio.Event()
    connections = listen_held(started, gate, error=OSError("the network went away"))
    acquired: list[object] = []

    async def count(connection: object) -> None:
        acquired.append(connection)

    async with users_pool(pg_dsn, max_size=4, connection_class=connections, setup=count) as pool:
        store = await PostgresEventStore.from_pool(pool, schema=pg_schema, migrate=False)
        first = asyncio.create_task(store.wait_for_events(timeout=0.1))
        await asyncio.wait_for(started.wait(), 10)
        second = asyncio.create_task(store.wait_for_events(timeout=0.1))
        await asyncio.sleep(0)  # the second waits behind the first's LISTEN
        closing = asyncio.create_task(store.close())
        await asyncio.sleep(0)  # the store has begun closing
        gate.set()
        assert await first is False
        assert await second is False
        await closing
        assert len(acquired) == 1
        assert lent_out(pool) == 0
        await asyncio.wait_for(pool.close(), 10)  # hang guard
