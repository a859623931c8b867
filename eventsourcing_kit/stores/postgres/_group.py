"""Opportunistic group commit: queued appends share one transaction.

With ``group_commit=True`` (the default) an append that finds another one
of this store's appends in flight does not take a connection of its own:
it joins a queue, and at most `MAX_IN_FLIGHT` statements run at once, each
flush taking every append queued so far and sending them in one
``append_group()`` call (``store/postgres/0008``): one round trip and one
commit for the lot, instead of one of each per append, which is what limits
many concurrent writers on few cores. Nothing waits to fill a group: an
append that finds none in flight (`idle`) is sent at once by its caller,
alone, through the ordinary statement, between `hold` and `release`.

Each append keeps its own outcome: the statement checks each stream before
inserting, so a conflict or a retry is one row of the result and the others
commit; the sender turns each row into that append's `Appended` or
`Rejected`. When the group's statement fails as a whole (a unique violation
from a racing transaction, a JSONB refusal, a lost connection), every
append of it is sent again on its own, so each gets its own result or error
(an append of the group that had in fact committed is then recognized by
its event ids, as any retry is).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

import attrs

from eventsourcing_kit.stores.driver import AppendOutcome
from eventsourcing_kit.stores.postgres._rows import EncodedAppend

__all__ = ["MAX_IN_FLIGHT", "GroupCommitter", "Pending"]

# Concurrent group statements: enough to keep the server busy while a group
# is on the wire, few enough that queued appends gather into groups.
MAX_IN_FLIGHT = 2


@attrs.define(eq=False)
class Pending:
    """One queued append, and its outcome."""

    append: EncodedAppend
    future: asyncio.Future[AppendOutcome]


SendGroup = Callable[[Sequence[Pending]], Awaitable[list[AppendOutcome]]]
SendOne = Callable[[EncodedAppend], Awaitable[AppendOutcome]]


class GroupCommitter:
    """Sends queued appends in groups; `submit` returns the append's outcome."""

    def __init__(self, send_group: SendGroup, send_one: SendOne) -> None:
        self._send_group = send_group
        self._send_one = send_one
        self._queue: list[Pending] = []
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def idle(self) -> bool:
        """No append of ours in flight: the next one has nothing to join."""
        return not self._in_flight

    def hold(self) -> None:
        """Count an append the caller sends itself, alone (`idle` was true)."""
        self._in_flight += 1

    def release(self) -> None:
        """That append is done: send what queued up behind it."""
        self._in_flight -= 1
        self._start_flush()

    async def submit(self, append: EncodedAppend) -> AppendOutcome:
        """Queue one append and wait for its outcome (or the driver's error)."""
        future: asyncio.Future[AppendOutcome] = asyncio.get_running_loop().create_future()
        self._queue.append(Pending(append, future))
        self._start_flush()
        # Not shielded: cancelling a caller cancels only its own future, which
        # the flush then leaves alone; its append may still commit with the
        # group, as any append whose caller gave up after sending it.
        return await future

    def _start_flush(self) -> None:
        if self._queue and self._in_flight < MAX_IN_FLIGHT:
            self._in_flight += 1
            task = asyncio.ensure_future(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush(self) -> None:
        group: list[Pending] = []
        try:
            while self._queue:
                group, self._queue = self._queue, []
                if len(group) == 1:
                    await self._one(group[0])
                    continue
                try:
                    outcomes = await self._send_group(group)
                except Exception:
                    # One append's failure failed them all: each on its own.
                    for pending in group:
                        await self._one(pending)
                    continue
                for pending, outcome in zip(group, outcomes, strict=True):
                    if not pending.future.done():
                        pending.future.set_result(outcome)
        except BaseException as error:
            # Cancelled (the store closing): no waiter may hang.
            for pending in group:
                if not pending.future.done():
                    pending.future.set_exception(error)
            raise
        finally:
            self._in_flight -= 1

    async def _one(self, pending: Pending) -> None:
        try:
            outcome = await self._send_one(pending.append)
        except Exception as error:
            if not pending.future.done():
                pending.future.set_exception(error)
        else:
            if not pending.future.done():
                pending.future.set_result(outcome)

    async def close(self) -> None:
        """Wait for the groups in flight."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
