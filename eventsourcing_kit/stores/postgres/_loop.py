"""The event loop a PostgreSQL driver belongs to.

asyncpg's connections belong to the loop that made them. Used from another
loop, a statement is sent and then fails (after an append has committed),
and leaves the connection unusable on its own loop too; so every entry point
of the driver asks first, before anything is sent.
"""

from __future__ import annotations

import asyncio

from eventsourcing_kit.errors import WrongEventLoopError

__all__ = ["LoopBound"]


class LoopBound:
    """A base class that remembers the running loop and refuses any other."""

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()

    def _check_loop(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop runs here, so nothing can be sent from here either
        if loop is not self._loop:
            raise WrongEventLoopError("PostgreSQL")
