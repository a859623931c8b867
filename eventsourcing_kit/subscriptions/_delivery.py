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

Every checkpoint write is fenced: it names the checkpoint this runner read or
stored last (`stored`) as the one it expects, so a runner that fell behind
another (a second replica, a standby that took over) or a reset stores
nothing: `CheckpointFencedError` comes out of `deliver`, after a
transactional batch's writes rolled back.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence

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
    ) -> None:
        self._store = store
        self._id = subscription_id
        self._handler = handler
        self._transactional = transactional
        self._batched = batched
        self._retry = retry
        self._on_error = on_error
        self._pause = pause
        self._log = logger.bind(subscription_id=subscription_id)
        self.handled = 0
        self.parked = 0
        self.last_error: str | None = None
        # The checkpoint as this runner last read or stored it: the condition
        # of its next write. The follower sets it whenever it loads one.
        self.stored: Position | None = None

    async def _save(self, position: Position) -> None:
        await self._store.save_checkpoint(self._id, position, expected=self.stored)
        self.stored = position

    async def deliver(self, events: Sequence[RecordedEvent], end: Position) -> None:
        """Hand `events` over, then store `end` as the checkpoint.

        `end` is the position of the last event read, at or after the last of
        `events` (the events between were filtered out).
        """
        if not events:
            await self._save(end)
            return
        progress = _Progress()
        try:
            await self._attempt(events, end, progress)
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
                await self._attempt([record], record.position, _Progress())
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
        self, events: Sequence[RecordedEvent], end: Position, progress: _Progress
    ) -> None:
        if self._transactional:
            async with self._store.checkpoint_transaction(self._id) as transaction:
                context = HandlerContext(
                    subscription_id=self._id, connection=transaction.connection
                )
                await self._call(events, progress, context)
                transaction.save(end, expected=self.stored)
            self.stored = end
        else:
            await self._call(events, progress, None)
            await self._save(end)

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
        for index, record in enumerate(events):
            await self._run(index, self._handler, record, *extra)
            if context is None:
                progress.handled = index + 1

    async def _run(self, index: int, handler: Handler, *args: object) -> None:
        try:
            result = handler(*args)
        except Exception as error:
            raise _HandlerFailed(index, error) from error
        if not inspect.isawaitable(result):
            raise SubscriptionError(
                f"the handler of subscription {self._id!r} returned {type(result).__name__}, "
                "not an awaitable: make it an `async def`"
            )
        try:
            await result
        except Exception as error:
            raise _HandlerFailed(index, error) from error
