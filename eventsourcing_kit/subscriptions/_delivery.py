"""Handing a batch to the handler: checkpoints, transactions, retries, parking.

The fast path hands the whole batch over and stores the checkpoint once. When
the handler raises, the batch is taken again one event at a time, each event
retried with backoff under the `RetryPolicy`; an event that fails every try
stops the subscription (`HandlerError`) or is parked. Events before the
failing one keep their place: in a transactional subscription they were
rolled back with the failure and are handed over again, each in its own
transaction; otherwise they were handled, and the checkpoint moves past them
before the retries start, so that a stop during the backoff does not hand
them over a second time.

A subscription that is not transactional does not store its checkpoint after
every batch while it catches up: `deliver(..., live=False)` only remembers it
(`pending`) until `checkpoint_interval` seconds have passed since the last
one stored; a batch at the live boundary, a failing handler, and `flush` (a
stop) store it. A crash hands over again what was handled since the stored
one: at-least-once, as before, only more of it.

Every checkpoint write is fenced: it names the checkpoint this runner read or
stored last (`stored`) as the one it expects, so a runner that fell behind
another (a second replica, a standby that took over) or a reset stores
nothing: `CheckpointFencedError` comes out of `deliver`, after a
transactional batch's writes rolled back.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from types import CoroutineType
from typing import Any

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import HandlerError, SubscriptionError
from eventsourcing_kit.stores import EventStore, Position, RecordedEvent
from eventsourcing_kit.subscriptions._options import Handler, HandlerContext, OnError, RetryPolicy
from eventsourcing_kit.subscriptions._parking import park

__all__ = ["Delivery", "Interrupted"]

logger = get_logger(__name__)


class Interrupted(Exception):
    """A stop request ended the wait before a retry: the event stays unhandled."""


class _HandlerFailed(Exception):
    def __init__(self, index: int, cause: Exception) -> None:
        super().__init__(index, cause)
        self.index = index
        self.cause = cause


class _Progress:
    """How many events of an attempt were handled for good (not rolled back)."""

    def __init__(self) -> None:
        self.handled = 0


class Delivery:
    """Delivers batches of one subscription and counts what happened to them."""

    def __init__(
        self,
        store: EventStore,
        subscription_id: str,
        handler: Handler,
        *,
        transactional: bool,
        batched: bool,
        retry: RetryPolicy,
        on_error: OnError,
        pause: Callable[[float], Awaitable[bool]],
        checkpoint_interval: float = 0.0,
    ) -> None:
        self._store = store
        self._id = subscription_id
        self._handler = handler
        self._transactional = transactional
        self._batched = batched
        self._retry = retry
        self._on_error = on_error
        self._pause = pause
        self._interval = checkpoint_interval
        self._log = logger.bind(subscription_id=subscription_id)
        self.handled = 0
        self.parked = 0
        self.last_error: str | None = None
        # The checkpoint as this runner last read or stored it: the condition
        # of its next write. The follower sets it whenever it loads one.
        self.stored: Position | None = None
        # A checkpoint handled past but not stored yet (see the module doc).
        self.pending: Position | None = None
        self._stored_at = time.monotonic()

    def forget_pending(self, stored: Position | None) -> None:
        """The stored checkpoint is `stored` (loaded, or reset): nothing is pending."""
        self.stored = stored
        self.pending = None
        self._stored_at = time.monotonic()

    async def _save(self, position: Position) -> None:
        await self._store.save_checkpoint(self._id, position, expected=self.stored)
        self.forget_pending(position)

    async def flush(self) -> None:
        """Store the pending checkpoint, if there is one."""
        if self.pending is not None:
            await self._save(self.pending)

    def _due(self, live: bool) -> bool:
        return live or time.monotonic() - self._stored_at >= self._interval

    async def deliver(
        self, events: Sequence[RecordedEvent], end: Position, *, live: bool = True
    ) -> None:
        """Hand `events` over, then store `end` as the checkpoint, or remember it.

        `end` is the position of the last event read, at or after the last of
        `events` (the events between were filtered out). `live`: the batch
        reached the end of the log, so its checkpoint is stored now; otherwise
        a subscription that is not transactional stores it once its
        `checkpoint_interval` has passed.
        """
        if not events:
            if self._due(live):
                await self._save(end)
            else:
                self.pending = end
            return
        progress = _Progress()
        try:
            await self._attempt(events, end, progress, store=self._due(live))
        except _HandlerFailed as failure:
            failed_index, first_error = failure.index, failure.cause
        else:
            self.handled += len(events)
            return
        self.handled += progress.handled
        self.last_error = repr(first_error)
        if self._batched:
            self._log.warning(
                "subscription batch failed; retrying its events one at a time",
                count=len(events),
                error=repr(first_error),
            )
        start = progress.handled
        if start:
            await self._save(events[start - 1].position)
        else:
            # The batches before, handled while catching up, are stored too.
            await self.flush()
        for index in range(start, len(events)):
            known = index == failed_index and not self._batched
            await self._deliver_one(events[index], first_error if known else None)
        if end != events[-1].position:
            await self._save(end)

    async def replay(self, record: RecordedEvent) -> None:
        """Hand one parked event over once, without moving the checkpoint."""
        if self._transactional:
            async with self._store.checkpoint_transaction(self._id) as transaction:
                context = HandlerContext(
                    subscription_id=self._id, connection=transaction.connection
                )
                await self._call([record], _Progress(), context)
        else:
            await self._call([record], _Progress(), None)

    async def _deliver_one(self, record: RecordedEvent, error: Exception | None) -> None:
        failures = 0 if error is None else 1
        while True:
            if error is not None:
                if failures > self._retry.max_retries:
                    await self._give_up(record, error, failures)
                    return
                delay = self._retry.delay(failures)
                self._log.warning(
                    "subscription handler failed; retrying",
                    stream_id=record.stream_id,
                    version=record.version,
                    event_id=str(record.event_id),
                    attempt=failures,
                    retry_in_s=delay,
                    error=repr(error),
                )
                if await self._pause(delay):
                    raise Interrupted()
            try:
                await self._attempt([record], record.position, _Progress(), store=True)
            except _HandlerFailed as failure:
                error = failure.cause
                failures += 1
                self.last_error = repr(error)
            else:
                self.handled += 1
                return

    async def _give_up(self, record: RecordedEvent, error: Exception, attempts: int) -> None:
        where = {
            "stream_id": record.stream_id,
            "version": record.version,
            "event_id": str(record.event_id),
            "event_type": record.event_type,
            "attempts": attempts,
            "error": repr(error),
        }
        if self._on_error == "park":
            await park(self._store, self._id, record, error=error, attempts=attempts)
            await self._save(record.position)
            self.parked += 1
            self._log.error("subscription parked a failing event and goes on", **where)
            return
        self._log.error("subscription handler kept failing; stopping", **where)
        raise HandlerError(self._id, record, error) from error

    async def _attempt(
        self,
        events: Sequence[RecordedEvent],
        end: Position,
        progress: _Progress,
        *,
        store: bool,
    ) -> None:
        if self._transactional:
            async with self._store.checkpoint_transaction(self._id) as transaction:
                context = HandlerContext(
                    subscription_id=self._id, connection=transaction.connection
                )
                await self._call(events, progress, context)
                transaction.save(end, expected=self.stored)
            self.forget_pending(end)
        else:
            await self._call(events, progress, None)
            if store:
                await self._save(end)
            else:
                self.pending = end

    async def _call(
        self,
        events: Sequence[RecordedEvent],
        progress: _Progress,
        context: HandlerContext | None,
    ) -> None:
        extra = () if context is None else (context,)
        if self._batched:
            await self._run(0, self._handler, list(events), *extra)
            return
        # The per-event path of every subscription, kept to a call and an
        # await per event: one try around the loop (free until something
        # raises), the count of handled events worked out on failure.
        handler: Callable[..., Any] = self._handler
        index = 0
        result: Any = None
        try:
            for record in events:
                result = handler(record, *extra)
                if type(result) is not CoroutineType and not inspect.isawaitable(result):
                    break
                await result
                index += 1
        except Exception as error:
            if context is None:
                progress.handled = index
            raise _HandlerFailed(index, error) from error
        if index < len(events):
            self._check_awaitable(result)

    def _check_awaitable(self, result: object) -> None:
        if not inspect.isawaitable(result):
            raise SubscriptionError(
                f"the handler of subscription {self._id!r} returned {type(result).__name__}, "
                "not an awaitable: make it an `async def`"
            )

    async def _run(self, index: int, handler: Handler, *args: object) -> None:
        try:
            result = handler(*args)
        except Exception as error:
            raise _HandlerFailed(index, error) from error
        self._check_awaitable(result)
        try:
            await result
        except Exception as error:
            raise _HandlerFailed(index, error) from error
