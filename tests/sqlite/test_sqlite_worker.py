"""The store's worker threads: one connection each, operations in order."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from eventsourcing_kit.stores.sqlite._worker import Worker as _Worker


async def test_a_connection_opened_after_start_was_cancelled_is_closed_by_stop(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    started = threading.Event()
    release = threading.Event()
    done = threading.Event()
    opened: list[sqlite3.Connection] = []

    def slow_open() -> sqlite3.Connection:
        started.set()
        release.wait(30)
        connection = sqlite3.connect(path, check_same_thread=False)
        opened.append(connection)
        done.set()
        return connection

    worker = _Worker("test-worker")
    starting = asyncio.create_task(worker.start(slow_open))
    assert await asyncio.to_thread(started.wait, 30)  # the open can no longer be withdrawn
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    release.set()
    await worker.stop()  # what SQLiteEventStore.open does when it is cancelled
    assert await asyncio.to_thread(done.wait, 30)
    [connection] = opened
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        connection.execute("SELECT 1")
