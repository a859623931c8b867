"""PostgreSQL driver faults: dead pooled connections, another event loop.

On the private cluster (tests/faults/cluster.py): these tests end the
store's server connections.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from collections.abc import Coroutine
from typing import Any

import asyncpg
import pytest
from cluster import Cluster

from eventsourcing_kit import NewEvent
from eventsourcing_kit.errors import StoreUnavailableError, WrongEventLoopError
from eventsourcing_kit.stores.postgres import PostgresEventStore


def block_the_loop_while(work: Coroutine[Any, Any, Any]) -> None:
    """Run `work` on a loop of its own in another thread while this loop stands still.

    The store's loop then cannot read the goodbye of a connection the server
    ends meanwhile: the connection still looks open, as a pooled one does
    between the server closing it and the client's next call.
    """
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, work).result(timeout=30)
    time.sleep(0.1)


async def end_backends(dsn: str, pids: list[int]) -> None:
    connection = await asyncpg.connect(dsn)
    try:
        for pid in pids:
            await connection.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await connection.close()


async def kept_backends(dsn: str, store: PostgresEventStore) -> list[int]:
    """The server pids of the store's connections, after a statement left one kept.

    The cluster is this test's own: every other client session on it is the
    store's.
    """
    await store.head_position()
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT pid FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return [row["pid"] for row in rows]


async def test_a_read_on_a_connection_the_server_ended_is_sent_again(
    cluster: Cluster, pg_store: PostgresEventStore
) -> None:
    pids = await kept_backends(cluster.dsn, pg_store)
    assert pids
    block_the_loop_while(end_backends(cluster.dsn, pids))
    assert await pg_store.head_position() is None


async def test_an_append_on_a_connection_the_server_ended_is_sent_again_and_written_once(
    cluster: Cluster, pg_store: PostgresEventStore
) -> None:
    pids = await kept_backends(cluster.dsn, pg_store)
    block_the_loop_while(end_backends(cluster.dsn, pids))
    result = await pg_store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
    assert result.version == 1
    assert [e.version async for e in pg_store.read_stream("Account-1")] == [1]


async def test_a_checkpoint_write_on_a_connection_the_server_ended_is_not_sent_again(
    cluster: Cluster, pg_store: PostgresEventStore
) -> None:
    await pg_store.append_events("Account-1", [NewEvent("Opened", {})])
    position = await pg_store.head_position()
    assert position is not None
    pids = await kept_backends(cluster.dsn, pg_store)
    block_the_loop_while(end_backends(cluster.dsn, pids))
    # It may have committed before the connection ended: only the caller, who
    # reloads the checkpoint, can tell (see the subscriptions' reload).
    with pytest.raises(StoreUnavailableError):
        await pg_store.save_checkpoint("projection", position, expected=None)


async def test_a_store_used_from_another_event_loop_fails_before_sending_anything(
    pg_store: PostgresEventStore,
) -> None:
    append = pg_store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
    with pytest.raises(WrongEventLoopError):
        await asyncio.to_thread(asyncio.run, append)
    assert await pg_store.stream_version("Account-1") == 0


async def test_a_store_used_from_another_event_loop_keeps_working_on_its_own(
    pg_store: PostgresEventStore,
) -> None:
    for _ in range(3):
        with pytest.raises(WrongEventLoopError):
            await asyncio.to_thread(asyncio.run, pg_store.stream_version("Account-1"))
    result = await pg_store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
    assert result.version == 1
