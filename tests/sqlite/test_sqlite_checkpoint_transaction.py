"""checkpoint_transaction(): a handler's writes commit with the checkpoint, or not at all."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

import pytest

from eventsourcing_kit import NewEvent, Position
from eventsourcing_kit.errors import InvalidInputError
from eventsourcing_kit.stores.sqlite import SQLiteEventStore


class Boom(Exception):
    pass


@pytest.fixture
def read_model(raw: sqlite3.Connection) -> sqlite3.Connection:
    """A projection's table in the store's file, as a user would create it."""
    raw.execute("CREATE TABLE balances (account TEXT PRIMARY KEY, balance INTEGER NOT NULL)")
    return raw


def balances(raw: sqlite3.Connection) -> list[tuple[str, int]]:
    return raw.execute("SELECT account, balance FROM balances").fetchall()


async def test_the_connection_is_inside_an_open_transaction(store: SQLiteEventStore) -> None:
    async with store.checkpoint_transaction("projection") as transaction:
        assert isinstance(transaction.connection, sqlite3.Connection)
        assert transaction.connection.in_transaction


async def test_handler_writes_commit_with_the_checkpoint(
    store: SQLiteEventStore, read_model: sqlite3.Connection
) -> None:
    async with store.checkpoint_transaction("projection") as transaction:
        transaction.connection.execute("INSERT INTO balances VALUES (?, ?)", ("Account-1", 5))
        transaction.save(7)
    assert balances(read_model) == [("Account-1", 5)]
    assert await store.load_checkpoint("projection") == Position(7)


async def test_a_failing_block_keeps_neither_its_writes_nor_the_checkpoint(
    store: SQLiteEventStore, read_model: sqlite3.Connection
) -> None:
    await store.save_checkpoint("projection", 3)

    async def failing_handler() -> None:
        async with store.checkpoint_transaction("projection") as transaction:
            transaction.connection.execute("INSERT INTO balances VALUES (?, ?)", ("Account-1", 5))
            transaction.save(7)
            raise Boom

    with pytest.raises(Boom):
        await failing_handler()
    assert balances(read_model) == []
    assert await store.load_checkpoint("projection") == Position(3)


async def test_appends_by_the_handler_commit_with_the_checkpoint(
    store: SQLiteEventStore,
) -> None:
    async with store.checkpoint_transaction("manager") as transaction:
        await store.append_events("Order-1", [NewEvent("Shipped", {})])
        transaction.save(1)
    assert [e.event_type async for e in store.read_all()] == ["Shipped"]


async def test_appends_by_a_failing_handler_are_rolled_back(store: SQLiteEventStore) -> None:
    async def failing_handler() -> None:
        async with store.checkpoint_transaction("manager") as transaction:
            await store.append_events("Order-1", [NewEvent("Shipped", {})])
            transaction.save(1)
            raise Boom

    with pytest.raises(Boom):
        await failing_handler()
    assert [e async for e in store.read_all()] == []
    assert await store.stream_version("Order-1") == 0


async def test_the_store_appends_normally_after_a_failed_transaction(
    store: SQLiteEventStore,
) -> None:
    with pytest.raises(Boom):
        async with store.checkpoint_transaction("manager"):
            raise Boom
    result = await store.append_events("Order-1", [NewEvent("Placed", {})], expected_version=0)
    assert result.version == 1


async def test_transactions_do_not_nest(store: SQLiteEventStore) -> None:
    async with store.checkpoint_transaction("outer"):
        with pytest.raises(InvalidInputError, match="already open"):
            async with store.checkpoint_transaction("inner"):
                pass


async def test_a_cancelled_transaction_is_rolled_back_and_frees_the_writer(
    store: SQLiteEventStore,
) -> None:
    inside = asyncio.Event()

    async def stuck_handler() -> None:
        async with store.checkpoint_transaction("manager") as transaction:
            await store.append_events("Order-1", [NewEvent("Shipped", {})])
            transaction.save(1)
            inside.set()
            await asyncio.Event().wait()  # until cancelled

    task = asyncio.create_task(stuck_handler())
    await inside.wait()
    waiting = asyncio.create_task(store.append_events("Order-2", [NewEvent("Placed", {})]))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await waiting).version == 1
    assert await store.stream_version("Order-1") == 0
    assert await store.load_checkpoint("manager") is None


async def test_a_transaction_cancelled_while_waiting_for_the_lock_leaves_the_writer_usable(
    store: SQLiteEventStore, raw: sqlite3.Connection
) -> None:
    began = threading.Event()
    # The store's writer connection is the one a checkpoint transaction lends.
    async with store.checkpoint_transaction("setup") as setup:
        setup.connection.set_trace_callback(
            lambda sql: began.set() if sql == "BEGIN IMMEDIATE" else None
        )
    raw.execute("BEGIN IMMEDIATE")  # another process holds the file's write lock

    async def handler() -> None:
        async with store.checkpoint_transaction("manager") as transaction:
            transaction.save(1)

    task = asyncio.create_task(handler())
    # Once the writer thread runs BEGIN IMMEDIATE, which now waits for the other
    # process, cancelling the caller can no longer withdraw it.
    assert await asyncio.to_thread(began.wait, 30)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    raw.execute("ROLLBACK")  # the abandoned BEGIN now gets the lock
    result = await store.append_events("Order-1", [NewEvent("Placed", {})])
    assert result.version == 1
    assert raw.execute("SELECT count(*) FROM events").fetchone() == (1,)
