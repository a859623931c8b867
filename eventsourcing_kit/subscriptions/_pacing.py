"""`Pacer`: how a subscription waits: for new events, after errors, until stopped."""

from __future__ import annotations

import asyncio
import contextlib

from eventsourcing_kit._logging import Logger
from eventsourcing_kit.subscriptions._options import RetryPolicy
from eventsourcing_kit.subscriptions._tasks import cancel

__all__ = ["Pacer"]


class Pacer:
    """The waits of one subscription, each cut short by `stopping`.

    `wakeup` ends a wait for new events early (a stop, a reset request).
    """

    def __init__(self, *, poll_interval: float, retry: RetryPolicy, log: Logger) -> None:
        self.stopping = asyncio.Event()
        self.wakeup = asyncio.Event()
        self._poll_interval = poll_interval
        self._retry = retry
        self._log = log

    async def pause(self, seconds: float) -> bool:
        """Sleep `seconds` unless a stop comes first; True when stopping."""
        if not self.stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), seconds)
        return self.stopping.is_set()

    async def back_off(self, error: Exception, failures: int) -> bool:
        """Log a store error and wait before trying again; True when stopping."""
        delay = self._retry.delay(min(failures, 20)) or self._poll_interval
        self._log.warning(
            "subscription store error; retrying",
            error=repr(error),
            attempt=failures,
            retry_in_s=delay,
        )
        return await self.pause(delay)

    async def wait_for_events(self, armed: asyncio.Task[bool]) -> None:
        """Wait for `armed` (the store's wait for new events) or a wake-up."""
        woken = asyncio.create_task(self.wakeup.wait())
        try:
            await asyncio.wait({armed, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await cancel(woken)
            if not armed.done():
                await cancel(armed)
        if not self.stopping.is_set():
            self.wakeup.clear()
        if armed.done() and not armed.cancelled() and armed.exception() is not None:
            # A broken listener must not turn the wait into a busy loop.
            self._log.warning(
                "waiting for new events failed; polling", error=repr(armed.exception())
            )
            await self.pause(self._poll_interval)
