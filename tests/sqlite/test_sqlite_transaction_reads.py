"""Reads inside checkpoint_transaction() see the transaction's own writes.

A process manager loads an aggregate, appends, and loads it again in one
transactional handler: its second load must see its first append.
"""

from __future__ import annotations

import asyncio

from eventsourcing_kit import NewEvent, Position
from eventsourcing_kit.stores import Snapshot
from eventsourcing_kit.stores.sqlite import SQLiteEventStore


async def test_stream_version_sees_the_transactions_append(store: SQLiteEventStore) -> None:
    async with store.checkpoint_transaction("manager"):
        await store.append_events("Order-1", [NewEvent("Placed", {})], expected_version=0)
        assert await store.stream_version("Order-1") == 1


async def test_read_stream_sees_the_transactions_append(store: SQLiteEventStore) -> None:
    async with store.checkpoint_transaction("manager"):
        await store.append_events("Order-1", [NewEvent("Placed", {})])
        assert [e.version async for e in store.read_stream("Order-1")] == [1]


async def test_read_all_and_head_position_see_the_transactions_append(
    store: SQLiteEventStore,
) -> None:
    async with store.checkpoint_transaction("manager"):
        result = await store.append_events("Order-1", [NewEvent("Placed", {})])
        assert [e.position async for e in store.read_all()] == [result.position]
        assert [e.position async for e in store.read_category("Order")] == [result.position]
        assert await store.head_position() == result.position


async def test_load_snapshot_sees_the_transactions_snapshot(store: SQLiteEventStore) -> None:
    async with store.checkpoint_transaction("manager"):
        await store.save_snapshot(
            Snapshot(stream_id="Order-1", version=0, state_schema="v1", data={"total": 3})
        )
        snapshot = await store.load_snapshot("Order-1")
        assert snapshot is not None and snapshot.data == {"total": 3}


async def test_load_checkpoint_sees_the_transactions_checkpoint(store: SQLiteEventStore) -> None:
    async with store.checkpoint_transaction("manager"):
        await store.save_checkpoint("other", 5)
        assert await store.load_checkpoint("other") == Position(5)


async def test_tasks_started_outside_do_not_see_the_open_transactions_writes(
    store: SQLiteEventStore,
) -> None:
    go = asyncio.Event()

    async def other_reader() -> int:
        await go.wait()
        return await store.stream_version("Order-1")

    outside = asyncio.create_task(other_reader())
    async with store.checkpoint_transaction("manager"):
        await store.append_events("Order-1", [NewEvent("Placed", {})])
        go.set()
        assert await outside == 0
