"""Small helpers for the tasks a subscription runs."""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["cancel", "retrieve"]


async def cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait for it to end.

    A failure it ended with before the cancel is marked as seen: the caller
    gave up on its result, and asyncio would otherwise log it as "never
    retrieved" when the task is collected.
    """
    if task is None:
        return
    task.cancel()
    await asyncio.wait({task})
    if not task.cancelled():
        task.exception()


def retrieve(task: asyncio.Future[None]) -> None:
    """A done callback that marks the task's failure as seen.

    The failure is logged by run() and raised by wait() / the `async with`
    exit; retrieving it here spares asyncio's "never retrieved" warning.
    """
    if not task.cancelled():
        task.exception()
