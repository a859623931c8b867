"""Another connection or process holding the file's write lock."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eventsourcing_kit import NewEvent
from eventsourcing_kit.errors import TransientStoreError
from eventsourcing_kit.stores.sqlite import SQLiteEventStore


@pytest.fixture
async def impatient(path: Path) -> AsyncIterator[SQLiteEventStore]:
    store = await SQLiteEventStore.open(str(path), busy_timeout=0.05)
    yield store
    await store.close()


async def test_an_append_waits_for_a_lock_held_briefly_elsewhere(
    store: SQLiteEventStore, raw: sqlite3.Connection
) -> None:
    raw.execute("BEGIN IMMEDIATE")  # what another process's write transaction does
    asyncio.get_running_loop().call_later(0.2, raw.execute, "ROLLBACK")
    result = await store.append_events("Account-1", [NewEvent("Opened", {})])
    assert result.version == 1


async def test_a_lock_held_longer_than_busy_timeout_is_a_transient_error(
    impatient: SQLiteEventStore, raw: sqlite3.Connection
) -> None:
    raw.execute("BEGIN IMMEDIATE")
    with pytest.raises(TransientStoreError, match="stayed locked"):
        await impatient.append_events("Account-1", [NewEvent("Opened", {})])
    raw.execute("ROLLBACK")


async def test_the_store_writes_again_once_the_lock_is_released(
    impatient: SQLiteEventStore, raw: sqlite3.Connection
) -> None:
    raw.execute("BEGIN IMMEDIATE")
    with pytest.raises(TransientStoreError):
        await impatient.append_events("Account-1", [NewEvent("Opened", {})])
    raw.execute("ROLLBACK")
    result = await impatient.append_events("Account-1", [NewEvent("Opened", {})])
    assert result.version == 1


async def test_readers_do_not_wait_for_a_writer_elsewhere(
    impatient: SQLiteEventStore, raw: sqlite3.Connection
) -> None:
    await impatient.append_events("Account-1", [NewEvent("Opened", {})])
    raw.execute("BEGIN IMMEDIATE")
    raw.execute(
        "INSERT INTO snapshots VALUES ('Account-1', 1, 'v1', '{}', '2024-01-01T00:00:00+00:00')"
    )
    # WAL: the reader sees the last commit and does not hit the 50 ms busy timeout.
    assert [e.version async for e in impatient.read_stream("Account-1")] == [1]
    assert await impatient.load_snapshot("Account-1") is None
    raw.execute("ROLLBACK")
