"""The store's worker threads: a connection opened for a cancelled open is closed.

Each connection lives on a thread of its own. Once that thread has begun
opening one, cancelling `SQLiteEventStore.open` can no longer withdraw it:
the open it abandons must still be closed, not left holding the file. Linux's
/proc/self/fd shows which files this process holds open.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from eventsourcing_kit.stores.sqlite import SQLiteEventStore

FD_DIR = Path("/proc/self/fd")

pytestmark = pytest.mark.skipif(not FD_DIR.is_dir(), reason="needs /proc/self/fd (Linux)")


def handles_on(path: Path) -> int:
    """How many file descriptors of this process are open on `path`."""
    count = 0
    for fd in FD_DIR.iterdir():
        try:
            if os.readlink(fd) == str(path):
                count += 1
        except OSError:
            pass  # closed since it was listed
    return count


async def until(condition: Callable[[], bool], *, within: float = 30.0) -> bool:
    """Poll `condition()` every 10 ms; False if it still fails after `within` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def test_an_open_cancelled_while_the_file_is_locked_leaves_no_connection_open(
    tmp_path: Path,
) -> None:
    path = tmp_path / "events.db"
    other = sqlite3.connect(path, isolation_level=None)  # another process, say
    try:
        other.execute("CREATE TABLE theirs (x)")
        other.execute("BEGIN EXCLUSIVE")  # the open now waits in its thread
        ours = handles_on(path)
        opening = asyncio.create_task(SQLiteEventStore.open(path, busy_timeout=30))
        # Its thread has the file open: cancelling can no longer withdraw that.
        assert await until(lambda: handles_on(path) > ours)
        opening.cancel()
        other.execute("ROLLBACK")  # the abandoned open gets the file
        with pytest.raises(asyncio.CancelledError):
            await opening
        assert handles_on(path) == ours
    finally:
        other.close()
