"""The memory store's checkpoint transaction is a real one, like SQLite's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from eventsourcing_kit import CheckpointTransaction, MemoryEventStore, NewEvent, Position, Snapshot
from eventsourcing_kit.errors import InvalidInputError


class Abort(Exception):
    pass


@pytest.fixture
async def store() -> AsyncIterator[MemoryEventStore]:
    async with MemoryEventStore() as store:
        yield store


def events(count: int = 1) -> list[NewEvent]:
    return [NewEvent("Happened", {"n": n}) for n in range(count)]


async def abort_after(
    store: MemoryEventStore, work: Callable[[CheckpointTransaction], Awaitable[object]]
) -> None:
    """Run `work` in a checkpoint transaction that then fails."""
    async with store.checkpoint_transaction("manager") as transaction:
        await work(transaction)
        raise Abort


async def test_appends_in_a_failed_block_are_undone(store: MemoryEventStore) -> None:
    await store.append_events("Order-1", events())

    async def work(transaction: CheckpointTransaction) -> None:
        await store.append_events("Order-1", events(2), expected_version=1)
        await store.append_events("Stock-1", events(), expected_version=0)
        transaction.save(3)

    with pytest.raises(Abort):
        await abort_after(store, work)
    assert await store.stream_version("Order-1") == 1
    assert await store.stream_version("Stock-1") == 0
    assert [e.version async for e in store.read_all()] == [1]
    assert await store.load_checkpoint("manager") is None


async def test_an_event_id_of_an_undone_append_can_be_appended_again(
    store: MemoryEventStore,
) -> None:
    batch = events()
    with pytest.raises(Abort):
        await abort_after(store, lambda _: store.append_events("Order-1", batch))
    result = await store.append_events("Order-1", batch, expected_version=0)
    assert result.version == 1


async def test_snapshots_of_a_failed_block_are_undone(store: MemoryEventStore) -> None:
    snapshot = Snapshot(stream_id="Order-1", version=1, state_schema="s", data={})
    with pytest.raises(Abort):
        await abort_after(store, lambda _: store.save_snapshot(snapshot))
    assert await store.load_snapshot("Order-1") is None


async def test_a_committed_block_keeps_its_appends_and_checkpoint(
    store: MemoryEventStore,
) -> None:
    async with store.checkpoint_transaction("manager") as transaction:
        await store.append_events("Order-1", events(2))
        transaction.save(2)
    assert await store.stream_version("Order-1") == 2
    assert await store.load_checkpoint("manager") == Position(2)


async def test_readers_outside_do_not_see_the_open_transactions_appends(
    store: MemoryEventStore,
) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def manager() -> None:
        async with store.checkpoint_transaction("manager"):
            await store.append_events("Order-1", events())
            inside.set()
            await release.wait()

    task = asyncio.create_task(manager())
    await inside.wait()
    assert [e async for e in store.read_all()] == []
    assert await store.stream_version("Order-1") == 0
    release.set()
    await task
    assert await store.stream_version("Order-1") == 1


async def test_another_writer_waits_for_the_open_transaction(store: MemoryEventStore) -> None:
    inside = asyncio.Event()
    release = asyncio.Event()

    async def manager() -> None:
        async with store.checkpoint_transaction("manager"):
            await store.append_events("Order-1", events(), expected_version=0)
            inside.set()
            await release.wait()

    task = asyncio.create_task(manager())
    await inside.wait()
    writer = asyncio.create_task(store.append_events("Order-1", events(), expected_version=1))
    await asyncio.sleep(0.01)
    assert not writer.done()
    release.set()
    await task
    assert (await writer).version == 2


async def test_transactions_do_not_nest(store: MemoryEventStore) -> None:
    async with store.checkpoint_transaction("outer"):
        with pytest.raises(InvalidInputError, match="do not nest"):
            async with store.checkpoint_transaction("inner"):
                pass
