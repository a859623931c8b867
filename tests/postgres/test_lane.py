"""The connections the store keeps between its statements, and the listener's.

`Lane` (stores/_postgres_lane.py) keeps up to four pool connections between
the store's own one-statement queries. Each must go back to the pool when
the lane idles, on close, after a failed or cancelled statement, and
whenever the pool has nothing else free; a kept connection that closed
meanwhile must not be handed out. `Listener` (stores/_postgres_notify.py)
must give its LISTEN connection back when its waiter is cancelled mid-LISTEN,
and take none after close.

The pool's count of connections lent out (`lent_out`) is the measure: the
lane's kept connections are acquired from the pool, so they count.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest
from postgres_support import open_store

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.postgres import PostgresEventStore
from eventsourcing_kit.stores.postgres._lane import Lane
from eventsourcing_kit.stores.postgres._notify import Listener

PID = "SELECT pg_backend_pid()"


def lent_out(pool: asyncpg.Pool) -> int:
    """Connections of `pool` acquired and not given back (the lane's included)."""
    return pool.get_size() - pool.get_idle_size()


async def until(condition: Callable[[], bool], *, within: float = 5.0) -> bool:
    """Poll `condition` every 10 ms; False if it still fails after `within` s.

    A bound against hanging, not a speed check: the lane idles after 50 ms.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


@asynccontextmanager
async def users_pool(dsn: str, *, max_size: int) -> AsyncIterator[asyncpg.Pool]:
    """A pool of the test's own, like a user's; the test closes it.

    Terminated afterwards in any case, so that a connection a failing test
    left acquired cannot hang the teardown (`Pool.close` waits for it).
    """
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=max_size)
    try:
        yield pool
    finally:
        pool.terminate()  # nothing to do once closed


def unique_sleep() -> str:
    """A long statement this test alone runs, to find it in pg_stat_activity."""
    return f"SELECT pg_sleep(10) -- lane {secrets.token_hex(6)}"


async def running_backend(dsn: str, query: str) -> int:
    """The server pid running `query` once the server has started it."""
    connection = await asyncpg.connect(dsn)
    try:
        for _ in range(500):
            pid: int | None = await connection.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE query = $1 AND state = 'active'", query
            )
            if pid is not None:
                return pid
            await asyncio.sleep(0.01)
    finally:
        await connection.close()
    raise AssertionError(f"the server never started {query!r}")


async def terminate_backend(dsn: str, pid: int) -> None:
    """End server process `pid` from another connection, as an admin would."""
    connection = await asyncpg.connect(dsn)
    try:
        assert await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


async def closed_by_the_server(dsn: str, connection: Any) -> None:
    """Terminate `connection`'s backend and wait until the client has noticed."""
    lost = asyncio.Event()
    connection.add_termination_listener(lambda _connection: lost.set())
    await terminate_backend(dsn, connection.get_server_pid())
    await asyncio.wait_for(lost.wait(), 10)


# --- keeping ------------------------------------------------------------------


async def test_the_next_statement_runs_on_the_kept_connection(
    pg_store: PostgresEventStore,
) -> None:
    first = (await pg_store._driver._lane.fetchrow(PID))[0]
    # Without the lane, the pool would lend this just-released connection
    # to the code below and the store's next statement would get another.
    async with pg_store.pool.acquire() as borrowed:
        assert borrowed.get_server_pid() != first
        second = (await pg_store._driver._lane.fetchrow(PID))[0]
    assert second == first


async def test_appends_and_reads_leave_their_connection_with_the_lane(
    pg_store: PostgresEventStore,
) -> None:
    await pg_store.append_events("Lane-1", [NewEvent("Opened", {})])
    assert lent_out(pg_store.pool) == len(pg_store._driver._lane._idle) == 1
    kept = pg_store._driver._lane._idle[0].get_server_pid()
    assert [e.event_type async for e in pg_store.read_stream("Lane-1")] == ["Opened"]
    assert [c.get_server_pid() for c in pg_store._driver._lane._idle] == [kept]
    assert lent_out(pg_store.pool) == 1


async def test_the_lane_keeps_no_more_than_keep_connections(
    pg_store: PostgresEventStore,
) -> None:
    lane = Lane(pg_store.pool, quiet_reset=None, keep=2)
    try:
        await asyncio.gather(*(lane.fetchrow("SELECT 1") for _ in range(3)))
        assert lent_out(pg_store.pool) == len(lane._idle) == 2
    finally:
        await lane.close()


async def test_kept_connections_go_back_to_the_pool_once_the_lane_sits_idle(
    pg_store: PostgresEventStore,
) -> None:
    await asyncio.gather(*(pg_store._driver._lane.fetchrow("SELECT 1") for _ in range(3)))
    assert lent_out(pg_store.pool) == 3
    assert await until(lambda: lent_out(pg_store.pool) == 0)


async def test_closing_the_lane_gives_every_kept_connection_back(
    pg_store: PostgresEventStore,
) -> None:
    await asyncio.gather(*(pg_store._driver._lane.fetchrow("SELECT 1") for _ in range(3)))
    assert lent_out(pg_store.pool) == 3
    await pg_store._driver._lane.close()
    assert lent_out(pg_store.pool) == 0


async def test_after_close_a_statements_connection_goes_back_to_the_pool(
    pg_store: PostgresEventStore,
) -> None:
    await pg_store._driver._lane.close()
    assert (await pg_store._driver._lane.fetchrow("SELECT 1"))[0] == 1
    assert lent_out(pg_store.pool) == 0


async def test_closing_a_store_on_a_users_pool_leaves_none_of_its_connections_acquired(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    async with users_pool(pg_dsn, max_size=5) as pool:  # pg_store: to empty the schema after
        store = await PostgresEventStore.from_pool(pool, schema=pg_store.schema, migrate=False)
        await store.append_events("Lane-1", [NewEvent("Opened", {})])
        await asyncio.gather(*(store._driver._lane.fetchrow("SELECT 1") for _ in range(3)))
        assert len(store._driver._lane._idle) == 3
        await store.close()
        assert lent_out(pool) == 0
        await asyncio.wait_for(pool.close(), 10)  # hang guard


# --- sharing the pool ---------------------------------------------------------


async def test_the_lane_never_keeps_the_pools_last_free_connection(
    pg_dsn: str, pg_schema: str
) -> None:
    async with (
        open_store(pg_dsn, pg_schema, min_size=1, max_size=2) as store,
        store.pool.acquire() as held,
    ):
        assert (await store._driver._lane.fetchrow("SELECT 1"))[0] == 1
        assert store.pool.get_idle_size() == 1
        async with store.pool.acquire(timeout=5) as other:
            assert other.get_server_pid() != held.get_server_pid()


async def test_a_kept_connection_goes_back_at_the_next_statement_once_the_pool_ran_out(
    pg_dsn: str, pg_schema: str
) -> None:
    async with open_store(pg_dsn, pg_schema, min_size=1, max_size=2) as store:
        await store._driver._lane.fetchrow("SELECT 1")
        assert lent_out(store.pool) == 1  # kept: the pool had room for one more
        async with store.pool.acquire():  # ... which this takes
            await store._driver._lane.fetchrow("SELECT 1")
            assert store.pool.get_idle_size() == 1


async def test_a_task_waiting_for_the_connection_the_lane_kept_gets_it_when_the_lane_idles(
    pg_dsn: str, pg_schema: str
) -> None:
    async with open_store(pg_dsn, pg_schema, min_size=1, max_size=2) as store:
        kept = (await store._driver._lane.fetchrow(PID))[0]
        async with store.pool.acquire():
            # Hang guard only: the lane gives it back after 50 ms unused.
            waited = await asyncio.wait_for(store.pool.acquire(), 10)
            try:
                assert waited.get_server_pid() == kept
            finally:
                await store.pool.release(waited)


# --- failures -----------------------------------------------------------------


async def test_a_statement_that_fails_gives_its_connection_back(
    pg_store: PostgresEventStore,
) -> None:
    await pg_store._driver._lane.fetchrow("SELECT 1")
    assert lent_out(pg_store.pool) == 1
    with pytest.raises(asyncpg.DivisionByZeroError):
        await pg_store._driver._lane.fetchrow("SELECT 1/0")
    assert lent_out(pg_store.pool) == 0
    assert (await pg_store._driver._lane.fetchrow("SELECT 2"))[0] == 2


async def test_a_cancelled_statement_gives_its_connection_back(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    await pg_store._driver._lane.fetchrow("SELECT 1")
    query = unique_sleep()
    statement = asyncio.create_task(pg_store._driver._lane.fetchrow(query))
    await running_backend(pg_dsn, query)
    statement.cancel()
    await asyncio.gather(statement, return_exceptions=True)
    assert statement.cancelled()
    assert lent_out(pg_store.pool) == 0
    assert (await pg_store._driver._lane.fetchrow("SELECT 2"))[0] == 2


async def test_a_kept_connection_the_server_ended_is_not_handed_out(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    before = (await pg_store._driver._reader.fetchrow(PID))[0]
    # Waits until the client has read the server's goodbye: a statement sent
    # before that meets asyncpg's own race (ConnectionDoesNotExistError or
    # InternalClientError), not the lane's.
    await closed_by_the_server(pg_dsn, pg_store._driver._lane._idle[-1])
    assert (await pg_store._driver._reader.fetchrow(PID))[0] != before


async def test_a_kept_connection_closed_meanwhile_is_not_handed_out(
    pg_store: PostgresEventStore,
) -> None:
    before = (await pg_store._driver._reader.fetchrow(PID))[0]
    pg_store._driver._lane._idle[-1].terminate()
    assert (await pg_store._driver._reader.fetchrow(PID))[0] != before


async def test_closing_a_store_whose_kept_connection_closed_still_closes_its_pool(
    pg_dsn: str, pg_schema: str
) -> None:
    store = await PostgresEventStore.open(pg_dsn, schema=pg_schema, migrate=False)
    try:
        await store._driver._reader.fetchrow("SELECT 1")
        store._driver._lane._idle[-1].terminate()
        await asyncio.wait_for(store.close(), 10)  # hang guard
        assert store.pool.is_closing()
    finally:
        if not store.pool.is_closing():
            store.pool.terminate()


async def test_a_kept_connection_that_closed_does_not_keep_the_others_from_the_pool(
    pg_store: PostgresEventStore,
) -> None:
    lane = pg_store._driver._lane
    await asyncio.gather(lane.fetchrow("SELECT 1"), lane.fetchrow("SELECT 1"))
    kept = list(lane._idle)
    assert len(kept) == 2
    try:
        kept[0].terminate()  # the first the idle timer gives back
        assert await until(lambda: not lane._idle and not lane._releasing)
        assert lent_out(pg_store.pool) == 0
    finally:
        for connection in kept:  # give a leaked one back, so the pool can close
            await pg_store.pool.release(connection)


# --- the listener -------------------------------------------------------------


@pytest.mark.parametrize("turns", [1, 2, 3])
async def test_a_waiter_cancelled_during_listen_gives_the_connection_back(
    pg_dsn: str, pg_schema: str, turns: int
) -> None:
    async with users_pool(pg_dsn, max_size=4) as pool:
        store = await PostgresEventStore.from_pool(pool, schema=pg_schema, migrate=False)
        waiter = asyncio.create_task(store.wait_for_events(timeout=10))
        for _ in range(turns):
            await asyncio.sleep(0)
        # The waiter took a pool connection and sent LISTEN; no answer yet.
        assert lent_out(pool) == 1
        assert store._driver._listener._connection is None
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        assert waiter.cancelled()
        await store.close()
        assert lent_out(pool) == 0
        await asyncio.wait_for(pool.close(), 10)  # hang guard


async def test_a_closed_listener_takes_no_connection_to_wait(pg_dsn: str, pg_schema: str) -> None:
    async with users_pool(pg_dsn, max_size=2) as pool:
        listener = Listener(pool, f"eventsourcing_kit.{pg_schema}")
        await listener.close()
        assert await listener.wait(0.01) is False
        assert lent_out(pool) == 0
        await asyncio.wait_for(pool.close(), 10)  # hang guard
