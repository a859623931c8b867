"""`AppendSignal`: wakes this process's waiting readers when an append commits."""

from __future__ import annotations

import asyncio

__all__ = ["AppendSignal"]


class AppendSignal:
    """Wakes in-process waiters when an append commits (no polling needed)."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        """Wake every task waiting now."""
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout: float) -> bool:
        """Wait until the next notify() or `timeout` seconds; True if notified."""
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True
