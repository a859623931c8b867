"""Live delivery: in-process wake-ups only; other processes are seen by polling."""

from __future__ import annotations

import asyncio
from pathlib import Path

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.sqlite import SQLiteEventStore

GIVE_UP = 10  # seconds: only reached if the wake-up is missing


async def test_an_append_wakes_waiters_of_the_same_store(store: SQLiteEventStore) -> None:
    waiter = asyncio.create_task(store.wait_for_events(timeout=GIVE_UP))
    await asyncio.sleep(0)  # the waiter is waiting
    await store.append_events("Order-1", [NewEvent("Placed", {})])
    assert await waiter


async def test_an_append_by_another_store_on_the_file_wakes_nobody_here(
    store: SQLiteEventStore, path: Path
) -> None:
    # What another process does; docs/sqlite.md promises only polling for it.
    other = await SQLiteEventStore.open(str(path))
    try:
        waiter = asyncio.create_task(store.wait_for_events(timeout=0.2))
        await asyncio.sleep(0)
        await other.append_events("Order-1", [NewEvent("Placed", {})])
        assert not await waiter
    finally:
        await other.close()
    assert await store.stream_version("Order-1") == 1  # yet a re-read sees it
