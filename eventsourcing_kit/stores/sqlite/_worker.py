"""`Worker`: one SQLite connection on one thread of its own."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

__all__ = ["Worker"]

T = TypeVar("T")


class Worker:
    """One connection on one thread: its operations run one at a time, in order.

    The order matters: an operation submitted after another (a rollback after
    a cancelled append, a close after pending work) runs after it.
    """

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._connection: sqlite3.Connection | None = None

    @property
    def connection(self) -> sqlite3.Connection:
        assert self._connection is not None
        return self._connection

    async def start(self, opener: Callable[[], sqlite3.Connection]) -> None:
        # The thread keeps the connection itself, so that one opened after the
        # caller was cancelled is still there for stop() to close.
        def open_here() -> None:
            self._connection = opener()

        await asyncio.get_running_loop().run_in_executor(self._executor, open_here)

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await asyncio.wrap_future(self.submit(function, *args, **kwargs))

    def submit(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Queue an operation now; it runs even if nobody awaits its result."""
        return self._executor.submit(function, self.connection, *args, **kwargs)

    async def stop(self) -> None:
        # Queued behind everything already submitted, a start() still opening included.
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_here)
        finally:
            self._executor.shutdown(wait=False)

    def _close_here(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
