"""Tasks started inside checkpoint_transaction() write and read in it.

Child tasks (asyncio.wait_for on Python 3.11, gather over coroutines) used to
wait for the write lock their parent holds: a deadlock. They inherit the
transaction through their context and join it instead.
"""

from __future__ import annotations

import asyncio

import pytest

from eventsourcing_kit import NewEvent, Position
from eventsourcing_kit.errors import InvalidInputError
from eventsourcing_kit.stores.sqlite import SQLiteEventStore

GIVE_UP = 10  # seconds: only reached by a deadlock


class Boom(Exception):
    pass


async def stream_ids(store: SQLiteEventStore) -> list[str]:
    return [event.stream_id async for event in store.read_all()]


async def test_an_append_under_wait_for_commits_with_the_checkpoint(
    store: SQLiteEventStore,
) -> None:
    async with store.checkpoint_transaction("manager") as transaction:
        await asyncio.wait_for(
            store.append_events("Order-1", [NewEvent("Shipped", {})]), timeout=GIVE_UP
        )
        transaction.save(1)
    assert await stream_ids(store) == ["Order-1"]
    assert await store.load_checkpoint("manager") == Position(1)


async def test_appends_gathered_in_child_tasks_commit_with_the_checkpoint(
    store: SQLiteEventStore,
) -> None:
    async with asyncio.timeout(GIVE_UP), store.checkpoint_transaction("manager") as transaction:
        await asyncio.gather(
            asyncio.create_task(store.append_events("Order-1", [NewEvent("Shipped", {})])),
            asyncio.create_task(store.append_events("Order-2", [NewEvent("Shipped", {})])),
        )
        transaction.save(2)
    assert sorted(await stream_ids(store)) == ["Order-1", "Order-2"]


async def test_appends_in_child_tasks_of_a_failing_block_are_rolled_back(
    store: SQLiteEventStore,
) -> None:
    async def failing_handler() -> None:
        async with asyncio.timeout(GIVE_UP), store.checkpoint_transaction("manager"):
            await asyncio.create_task(store.append_events("Order-1", [NewEvent("Shipped", {})]))
            raise Boom

    with pytest.raises(Boom):
        await failing_handler()
    assert await stream_ids(store) == []


async def test_a_child_task_reads_the_transactions_writes(store: SQLiteEventStore) -> None:
    async with store.checkpoint_transaction("manager"):
        await store.append_events("Order-1", [NewEvent("Shipped", {})])
        assert await asyncio.create_task(store.stream_version("Order-1")) == 1


async def test_a_child_task_that_writes_after_the_block_writes_on_its_own(
    store: SQLiteEventStore,
) -> None:
    go = asyncio.Event()

    async def late_append() -> int:
        await go.wait()
        result = await store.append_events("Order-2", [NewEvent("Placed", {})])
        return result.version

    started: list[asyncio.Task[int]] = []

    async def failing_handler() -> None:
        async with store.checkpoint_transaction("manager"):
            started.append(asyncio.create_task(late_append()))
            await store.append_events("Order-1", [NewEvent("Placed", {})])
            raise Boom

    with pytest.raises(Boom):
        await failing_handler()
    [late] = started
    go.set()
    assert await asyncio.wait_for(late, GIVE_UP) == 1
    assert await stream_ids(store) == ["Order-2"]


async def test_a_child_task_cannot_open_a_nested_transaction(store: SQLiteEventStore) -> None:
    async def nested() -> None:
        async with store.checkpoint_transaction("inner"):
            pass

    async with asyncio.timeout(GIVE_UP), store.checkpoint_transaction("outer"):
        with pytest.raises(InvalidInputError, match="already open"):
            await asyncio.create_task(nested())


async def test_an_append_from_a_child_task_wakes_waiters_once_committed(
    store: SQLiteEventStore,
) -> None:
    waiter = asyncio.create_task(store.wait_for_events(timeout=GIVE_UP))
    await asyncio.sleep(0)  # the waiter is waiting
    async with asyncio.timeout(GIVE_UP), store.checkpoint_transaction("manager"):
        await asyncio.create_task(store.append_events("Order-1", [NewEvent("Shipped", {})]))
    assert await waiter
