"""Live delivery: LISTEN for appends made by any process, NOTIFY after ours.

`Listener` holds one pool connection that LISTENs on the schema's channel
while someone waits for events; it reconnects on the next wait after the
connection is lost and then reports a wake-up, since notifications sent
while it was away are gone. `Notifier` sends the NOTIFY for appends made
through the store's pool after they commit, coalesced: one NOTIFY for all
the appends that commit within a short delay, carried inside a later
append's own transaction when the store keeps appending, else sent by a
background task. Not inside every append's transaction: PostgreSQL
serializes the commits of notifying transactions (see docs/postgres.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import hashlib
import math
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.stores.driver import AppendSignal
from eventsourcing_kit.stores.postgres._errors import DRIVER_ERRORS, is_unavailable

__all__ = ["Listener", "Notifier", "NotifyMode", "channel_for"]

logger = get_logger(__name__)

_MAX_CHANNEL_BYTES = 63
# Sending an owed NOTIFY again after a failure: after these many seconds,
# growing, then it is given up (live readers poll anyway).
_RESEND_DELAYS = (0.05, 0.2, 1.0)
_NOTIFY = "SELECT pg_notify($1, '')"


class NotifyMode(enum.Enum):
    """When an append made through the store's pool sends its NOTIFY."""

    COALESCED = "coalesced"
    """After commit, from a background task; appends that commit while one
    NOTIFY is in flight share the next one."""
    AFTER_COMMIT = "after_commit"
    """After commit, one NOTIFY per append, before `append_events` returns."""
    IN_TRANSACTION = "in_transaction"
    """Inside the append transaction (PostgreSQL serializes notifying commits)."""
    OFF = "off"
    """No NOTIFY: live readers of other processes fall back to polling."""


def channel_for(schema: str) -> str:
    """The NOTIFY channel of a schema (an identifier of at most 63 bytes)."""
    channel = f"eventsourcing_kit.{schema}"
    if len(channel.encode()) <= _MAX_CHANNEL_BYTES:
        return channel
    return "eventsourcing_kit." + hashlib.sha256(schema.encode()).hexdigest()[:40]


class Notifier:
    """Sends coalesced NOTIFYs after commits, from one background task.

    The task waits `delay` seconds after the first append it was poked for,
    so that a burst of appends (even from one sequential writer) shares one
    NOTIFY; appends that commit while a NOTIFY is in flight share the next.
    With `connect`, the NOTIFYs go over a dedicated connection of their own,
    opened on first use and again after it is lost; without it (a user's
    pool), over a pool connection borrowed for each.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        channel: str,
        *,
        delay: float = 0.0,
        connect: Callable[[], Awaitable[asyncpg.Connection]] | None = None,
    ) -> None:
        self._pool = pool
        self._channel = channel
        self._delay = delay
        self._connect = connect
        self._connection: asyncpg.Connection | None = None
        self._dirty = False
        self._dirty_since = 0.0
        self._last_append = -math.inf
        self._task: asyncio.Task[None] | None = None
        self._failures = 0  # failed sends of the NOTIFY owed now
        self._closing = False

    def poke(self) -> None:
        """Note that an append committed; a NOTIFY follows within `delay` and a round trip.

        Within 1.5 times `delay` while this store keeps appending: then the next
        append carries it (`take_due`).
        """
        loop = asyncio.get_running_loop()
        if not self._dirty:
            self._dirty = True
            self._dirty_since = loop.time()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._run())

    def take_due(self) -> str | None:
        """The channel, when the append about to be sent should carry the NOTIFY.

        That is when a NOTIFY has been owed for `delay` or more: the append's
        own transaction then sends it (the append statements' channel
        parameter), for the commits before it and its own, which costs far
        less than the background task's separate statement and transaction.
        At most one append per `delay` carries one, so notifying commits stay
        too rare to queue on PostgreSQL's notify lock. None: send the append
        without. When the append does not commit, the caller `poke`s again.
        """
        now = asyncio.get_running_loop().time()
        self._last_append = now
        if self._dirty and now - self._dirty_since >= self._delay:
            self._dirty = False
            return self._channel
        return None

    async def send(self, connection: Any = None) -> None:
        """Send one NOTIFY now (on `connection`, or a pool connection)."""
        if connection is not None:
            await connection.execute(_NOTIFY, self._channel)
        else:
            await self._pool.execute(_NOTIFY, self._channel)

    async def _send_coalesced(self) -> None:
        if self._connect is None:
            await self.send()
            return
        for attempt in (1, 2):
            if self._connection is None or self._connection.is_closed():
                self._connection = await self._connect()
            try:
                await self._connection.execute(_NOTIFY, self._channel)
                return
            except BaseException as error:
                # A session the server ended shows only when used: reconnect
                # and send once more, so this NOTIFY is not lost with it.
                connection, self._connection = self._connection, None
                connection.terminate()
                if attempt == 2 or not isinstance(error, DRIVER_ERRORS):
                    raise

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._dirty:
            # Due `delay` after the first commit it covers; until then an
            # append may carry it (take_due) and clear `_dirty`. When an
            # append has started since that commit (the store keeps
            # appending), half a delay more: its next append carries it at
            # less cost than a statement of our own. A lone append started
            # before its own commit, so it does not count.
            now = loop.time()
            due = self._dirty_since + self._delay
            if self._last_append > self._dirty_since:
                due += self._delay / 2
            if now < due:
                await asyncio.sleep(due - now)
                continue
            self._dirty = False
            try:
                await self._send_coalesced()
            except Exception as error:
                # Any failure, whatever the driver raises (InternalClientError
                # included): this task is nobody's to await, so an escaping
                # error would be lost ("never retrieved") with the NOTIFY it
                # owed. Owed still: send it again after a pause, a few times.
                if not self._resend_later(error):
                    return
                await asyncio.sleep(self._resend_delay())
            else:
                self._failures = 0

    def _resend_later(self, error: Exception) -> bool:
        self._failures += 1
        again = self._failures <= len(_RESEND_DELAYS) and not self._closing
        logger.warning(
            "notify failed",
            channel=self._channel,
            error=repr(error),
            resend=again,
            attempt=self._failures,
        )
        if again:
            self._dirty = True
            self._dirty_since = asyncio.get_running_loop().time()
        else:
            # Live readers fall back to their polling timeout; nothing is lost.
            self._failures = 0
        return again

    def _resend_delay(self) -> float:
        return _RESEND_DELAYS[min(self._failures, len(_RESEND_DELAYS)) - 1]

    async def flush(self) -> None:
        """Wait until the NOTIFY still due, if any, is sent."""
        if self._task is not None and not self._task.done():
            await asyncio.gather(self._task, return_exceptions=True)

    async def close(self) -> None:
        """Send the NOTIFY still due, if any, and close the dedicated connection."""
        self._closing = True  # one try more, no waiting between resends
        await self.flush()
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(*DRIVER_ERRORS, TimeoutError):
                await connection.close(timeout=1.0)


class Listener:
    """LISTENs on the schema's channel while waiters need it."""

    def __init__(self, pool: asyncpg.Pool, channel: str) -> None:
        self._pool = pool
        self._channel = channel
        self._connection: Any = None
        self._dead = False  # the LISTEN connection was terminated
        self._missed = False  # notifications may have been lost meanwhile
        self._lock = asyncio.Lock()
        self._signal = AppendSignal()
        self._closed = False

    async def wait(self, timeout: float) -> bool:
        """True when woken by an append that committed during the wait."""
        if self._connection is None or self._dead:
            await self._connect()
            if self._missed and self._connection is not None:
                # Notifications sent while the connection was down are gone:
                # tell the reader to re-read rather than sleep.
                self._missed = False
                return True
        return await self._signal.wait(timeout)

    def wake(self) -> None:
        """Wake this process's waiters (an append made here committed)."""
        self._signal.notify()

    async def _connect(self) -> None:
        async with self._lock:
            # A waiter that was already on its way in when the store closed
            # must not take a pool connection that nobody would give back.
            if self._closed or (self._connection is not None and not self._dead):
                return
            await self._drop()
            # Any failure, not only the driver's known ones: a waiter that
            # cannot listen polls instead, and tries again on its next wait.
            try:
                connection = await self._pool.acquire()
            except Exception as error:
                logger.warning("cannot listen, polling", channel=self._channel, error=repr(error))
                return
            try:
                await connection.add_listener(self._channel, self._on_notify)
                connection.add_termination_listener(self._on_lost)
            except Exception as error:
                logger.warning("cannot listen, polling", channel=self._channel, error=repr(error))
                await self._release(connection)
                return
            except BaseException:
                # Cancelled during the LISTEN (a subscription stopping): the
                # connection is nobody's yet, so give it back here.
                await self._release(connection)
                raise
            self._connection = connection
            self._dead = False

    def _on_notify(self, connection: Any, pid: int, channel: str, payload: object) -> None:
        self._signal.notify()

    def _on_lost(self, connection: Any) -> None:
        logger.warning("listen connection lost; reconnecting on next wait", channel=self._channel)
        self._dead = True
        self._missed = True
        # Wake waiters so they re-read and reconnect instead of sleeping out their timeout.
        self._signal.notify()

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        if not self._dead:
            try:
                connection.remove_termination_listener(self._on_lost)
                await connection.remove_listener(self._channel, self._on_notify)
            except DRIVER_ERRORS as error:
                if not is_unavailable(error):
                    logger.warning("unlisten failed", channel=self._channel, error=repr(error))
        await self._release(connection)

    async def _release(self, connection: Any) -> None:
        # A terminated pool connection may already be back in the pool.
        with contextlib.suppress(*DRIVER_ERRORS):
            await self._pool.release(connection)

    async def close(self) -> None:
        """Stop listening and give the connection back to the pool."""
        self._closed = True
        async with self._lock:
            await self._drop()
