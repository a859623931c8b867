"""Pool connections the store keeps between its own statements.

Every statement of the store is one short query with no session state left
behind, so the connection it ran on can serve the next one at once. Taking
it from asyncpg's pool and giving it back each time costs a task per
release (asyncpg runs the release as a shielded task of its own), which a
sequential writer would pay on every append. So the lane keeps up to `keep`
connections after use and hands them out again directly.

Kept connections are still the pool's: they are given back once the lane
has sat unused for `idle` seconds, when a statement on one fails (the
pool's release cleans up after a cancelled or broken connection), and on
`close`. The lane keeps a connection only while the pool has another one
free (or room for one): code sharing the pool never waits for a connection
that the lane sits on, except for one the pool lent out since, which the
lane gives back at its next statement or when it idles.

A statement whose connection turns out to be dead (the server ended it
while it sat idle here or in the pool: an idle timeout, a restart, a
failover) is sent once more on another connection, unless the caller says
it must not be: every statement of the store is a read or an idempotent
write (appends carry their event ids, which the core recognises on a
retry), so sending it again cannot write twice. Once only: a server that is
really gone fails the second try as well, and the caller hears of it.
Reads may ask for more (`retry_for`): after a storm that ended many
connections at once, the second connection can be just as dead as the
first, and a read is always safe to send again, so it is sent again until a
short deadline passes. Appends keep the once-more rule.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Any

import asyncpg

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.stores.postgres._connect import QuietReset
from eventsourcing_kit.stores.postgres._errors import is_unavailable

__all__ = ["DEFAULT_IDLE", "DEFAULT_KEEP", "READ_RETRY_FOR", "Lane"]

logger = get_logger(__name__)

# Enough for the group committer's statements in flight plus a reader's
# page ahead; more would only hold pool connections that sit idle.
DEFAULT_KEEP = 4
# Long enough to carry a busy writer's appends from one to the next, short
# enough that a pool the store shares with other code gets them back soon.
DEFAULT_IDLE = 0.05

READ_RETRY_FOR = 1.0
"""Seconds a read is sent again for while its connections turn out dead.

A read is always safe to send again; one second outlasts the pool replacing
the connections a kill storm or a restart ended, and still tells a caller
soon that a server is really gone.
"""

# Between further tries of a read whose connections kept turning out dead.
_FIRST_PAUSE = 0.01
_MOST_PAUSE = 0.1

_RELEASE_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)


class Lane:
    """Runs the store's one-statement queries, keeping connections between them."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        quiet_reset: QuietReset | None,
        keep: int = DEFAULT_KEEP,
        idle: float = DEFAULT_IDLE,
    ) -> None:
        self._pool = pool
        self._quiet_reset = quiet_reset
        self._keep = max(0, min(keep, pool.get_max_size() - 1))
        self._idle_after = idle
        self._idle: list[Any] = []
        self._last_used = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._releasing: set[asyncio.Task[None]] = set()
        self._closed = False

    # fetch and fetchrow hand back the coroutine that does the work rather
    # than await it in one of their own: every append and every page goes
    # through here, and each coroutine frame on the way is resumed at each
    # of the statement's waits.

    def fetch(
        self, query: str, *args: Any, retry: bool = True, retry_for: float = 0.0
    ) -> Awaitable[list[Any]]:
        """``connection.fetch(query, *args)`` on a kept or pooled connection.

        `retry`: send it again once on another connection if this one was
        dead; `retry_for` (seconds, for reads): keep sending it again on
        other connections until that long after the first try.
        """
        return self._retrying("fetch", query, args, retry, retry_for)

    def fetchrow(
        self, query: str, *args: Any, retry: bool = True, retry_for: float = 0.0
    ) -> Awaitable[Any]:
        """``connection.fetchrow(query, *args)`` on a kept or pooled connection."""
        return self._retrying("fetchrow", query, args, retry, retry_for)

    async def _retrying(
        self, method: str, query: str, args: tuple[Any, ...], retry: bool, retry_for: float
    ) -> Any:
        if not retry:
            return await self._run(method, query, args)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + retry_for
        pause = 0.0
        while True:
            try:
                return await self._run(method, query, args)
            except Exception as error:
                # The first retry goes out at once (the usual case: one stale
                # connection); further ones (reads, within `retry_for`) after
                # short growing pauses, while the pool replaces the
                # connections a storm or a restart ended.
                if not is_unavailable(error) or (pause and loop.time() >= deadline):
                    raise
                logger.info(
                    "postgres connection was dead; sending the statement again", error=repr(error)
                )
            if pause:
                await asyncio.sleep(pause)
            pause = min(max(pause * 2, _FIRST_PAUSE), _MOST_PAUSE)

    async def _run(self, method: str, query: str, args: tuple[Any, ...]) -> Any:
        idle = self._idle
        if idle and not _closed(idle[-1]):
            connection = idle.pop()
        else:
            connection = await self._take()
        try:
            result = await getattr(connection, method)(query, *args)
        except BaseException:
            await self._release(connection)
            raise
        if not self._keep_after_use(connection):
            await self._release(connection)
        return result

    async def _take(self) -> Any:
        while self._idle:
            connection = self._idle.pop()
            if not _closed(connection):
                return connection
            # Closed while kept (the server ended it, the pool was
            # terminated): the pool replaces it.
            await self._release(connection)
        return await self._pool.acquire()

    def _keep_after_use(self, connection: Any) -> bool:
        # False: the caller gives it back to the pool.
        # A connection that closed after its statement is caught when it is
        # taken again (`_run`, `_take`), so it is not checked here too.
        if self._closed or len(self._idle) >= self._keep or not self._pool_has_room():
            return False
        self._idle.append(connection)
        loop = asyncio.get_running_loop()
        self._last_used = loop.time()
        if self._timer is None:
            self._timer = loop.call_later(self._idle_after, self._on_timer)
        return True

    def _pool_has_room(self) -> bool:
        # Never keep what may be the pool's last free connection: another
        # task may be waiting for it (a subscription's checkpoint
        # transaction while the listener holds the other one).
        pool = self._pool
        return pool.get_idle_size() > 0 or pool.get_size() < pool.get_max_size()

    def _on_timer(self) -> None:
        self._timer = None
        if not self._idle:
            return
        loop = asyncio.get_running_loop()
        quiet_for = loop.time() - self._last_used
        if quiet_for < self._idle_after:
            self._timer = loop.call_later(self._idle_after - quiet_for, self._on_timer)
            return
        idle, self._idle = self._idle, []
        task = loop.create_task(self._release_all(idle))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _release_all(self, connections: list[Any]) -> None:
        for connection in connections:
            await self._release(connection)

    async def _release(self, connection: Any) -> None:
        # A broken connection is the pool's to replace; its error is not
        # the caller's (the statement's own error, if any, is). One that
        # closed is already back: asyncpg detached it from its proxy, whose
        # every method now raises InterfaceError.
        with contextlib.suppress(*_RELEASE_ERRORS):
            if self._quiet_reset is not None:
                self._quiet_reset.mark(connection)
            await self._pool.release(connection)

    async def close(self) -> None:
        """Give every kept connection back to the pool, and keep none from now on."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        idle, self._idle = self._idle, []
        await self._release_all(idle)
        if self._releasing:
            await asyncio.gather(*self._releasing, return_exceptions=True)


def _closed(connection: Any) -> bool:
    try:
        return bool(connection.is_closed())
    except asyncpg.InterfaceError:
        # Closed, and given back to the pool by asyncpg itself.
        return True
