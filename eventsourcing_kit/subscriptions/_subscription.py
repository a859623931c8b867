"""`Subscription`: feed a handler from the global order, resuming from a checkpoint."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Iterable
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import structlog

from eventsourcing_kit.errors import (
    ConfigurationError,
    HandlerError,
    StoreUnavailableError,
    SubscriptionError,
    TransientStoreError,
)
from eventsourcing_kit.stores import (
    EventStore,
    Position,
    RecordedEvent,
    validate_batch_size,
    validate_category,
    validate_event_types,
    validate_subscription_id,
)
from eventsourcing_kit.subscriptions._delivery import Delivery, Interrupted
from eventsourcing_kit.subscriptions._groups import GroupMember
from eventsourcing_kit.subscriptions._options import Handler, OnError, RetryPolicy, Start
from eventsourcing_kit.subscriptions._parking import (
    ParkedEvent,
    ReplayResult,
    is_parking_record,
    list_parked,
    parked_stream_id,
    replay_parked,
)
from eventsourcing_kit.subscriptions._reading import take
from eventsourcing_kit.subscriptions._status import (
    SubscriptionState,
    SubscriptionStatus,
    count_lag,
)

__all__ = ["DEFAULT_SUBSCRIPTION_BATCH_SIZE", "Subscription", "subscribe"]

logger = structlog.get_logger(__name__)

DEFAULT_SUBSCRIPTION_BATCH_SIZE = 100
_PROGRESS_EVERY_S = 5.0


class Subscription:
    """A named reader of the global order that hands events to `handler`.

    It starts from its stored checkpoint (or, without one, from the beginning
    or from the head: `start`), reads history in batches of `batch_size`, then
    waits for new events without polling (`EventStore.wait_for_events`; it
    re-reads every `poll_interval` seconds anyway, which covers a missed
    wake-up). After each batch the handler completed, the checkpoint is
    stored: delivery is at-least-once, and a restarted subscription resumes
    after the last stored batch.

    Options (keyword-only):

    - `category`: only streams of this category; `event_types`: only events
      of these types (both filter in the store).
    - `batched`: the handler receives a list of events per call instead of
      one event.
    - `transactional`: the handler also receives a `HandlerContext` whose
      `connection` is inside the transaction that stores the checkpoint;
      read-model writes made through it are exactly-once (PostgreSQL, SQLite).
    - `retry`: a `RetryPolicy` for a handler that raises; once an event has
      used up its retries, `on_error="stop"` (default) ends `run()` with
      `HandlerError`, and ``"park"`` parks the event (`parked()`,
      `replay_parked()`) and goes on.
    - `on_reset`: an async callable that `reset()` runs to clear the read
      model before the rebuild.

    Run it with ``await sub.run()`` (until `stop()`), or in the background
    with ``async with sub:`` / `start()`.
    """

    def __init__(
        self,
        store: EventStore,
        subscription_id: str,
        handler: Handler,
        *,
        start: Start = "beginning",
        category: str | None = None,
        event_types: Iterable[str] | None = None,
        batch_size: int = DEFAULT_SUBSCRIPTION_BATCH_SIZE,
        batched: bool = False,
        transactional: bool = False,
        on_error: OnError = "stop",
        retry: RetryPolicy | None = None,
        poll_interval: float = 1.0,
        partition: GroupMember | None = None,
        on_reset: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if not isinstance(store, EventStore):
            raise ConfigurationError(f"a subscription needs an EventStore, got {store!r}")
        self._id = validate_subscription_id(subscription_id)
        if not _is_async_callable(handler):
            # Caught here, not at the first event: a sync handler would run
            # once, side effects and all, before the subscription failed.
            raise ConfigurationError(
                f"handler must be an async callable (an `async def` function, or an object "
                f"whose __call__ is `async def`), got {handler!r}"
            )
        if start not in ("beginning", "now"):
            raise ConfigurationError(f"start must be 'beginning' or 'now', got {start!r}")
        if on_error not in ("stop", "park"):
            raise ConfigurationError(f"on_error must be 'stop' or 'park', got {on_error!r}")
        if on_error == "park":
            parked_stream_id(self._id)
        if retry is None:
            retry = RetryPolicy()
        elif not isinstance(retry, RetryPolicy):
            raise ConfigurationError(f"retry must be a RetryPolicy, got {retry!r}")
        if (
            isinstance(poll_interval, bool)
            or not isinstance(poll_interval, int | float)
            or poll_interval <= 0
        ):
            raise ConfigurationError(f"poll_interval must be seconds > 0, got {poll_interval!r}")
        if partition is not None and not isinstance(partition, GroupMember):
            raise ConfigurationError(f"partition must be a GroupMember, got {partition!r}")
        self._store = store
        self._handler = handler
        self._start = start
        self._category = None if category is None else validate_category(category)
        self._event_types = validate_event_types(event_types)
        self._batch_size = validate_batch_size(batch_size)
        self._transactional = bool(transactional)
        self._batched = bool(batched)
        self._on_error: OnError = on_error
        self._poll_interval = float(poll_interval)
        self._partition = partition
        self._on_reset = on_reset
        self._stopping = asyncio.Event()
        self._wakeup = asyncio.Event()
        self._finished = asyncio.Event()
        self._lock = asyncio.Lock()
        self._delivery = Delivery(
            store,
            self._id,
            handler,
            transactional=self._transactional,
            batched=self._batched,
            retry=retry,
            on_error=on_error,
            pause=self._pause,
        )
        self._retry = retry
        self._state = SubscriptionState.IDLE
        self._running = False
        self._runner: asyncio.Task[Any] | None = None
        self._stop_cancelled = False
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None
        self._checkpoint: Position | None = None
        self._resets: list[asyncio.Future[None]] = []
        self._log = logger.bind(subscription_id=self._id)

    # --- what it is ----------------------------------------------------------

    @property
    def subscription_id(self) -> str:
        """The name its checkpoint is stored under."""
        return self._id

    @property
    def state(self) -> SubscriptionState:
        """Where it is now: idle, catching up, live, stopped or failed."""
        return self._state

    @property
    def checkpoint(self) -> Position | None:
        """The last checkpoint this process stored or loaded (see `status()`)."""
        return self._checkpoint

    def __repr__(self) -> str:
        return f"<Subscription {self._id!r} {self._state.value}>"

    # --- running -------------------------------------------------------------

    async def run(self) -> None:
        """Deliver events until `stop()`; raises `HandlerError` if the handler fails for good."""
        if self._running:
            raise SubscriptionError(
                f"subscription {self._id!r} is already running; stop it before running it again"
            )
        self._running = True
        # The loop (and so the handler) runs in a task of its own, which
        # stop(timeout=...) can cancel however run() is awaited; cancelling
        # the caller's task instead would cancel more than the subscription.
        self._runner = asyncio.create_task(self._loop(), name=f"subscription {self._id} loop")
        self._stop_cancelled = False
        self._finished.clear()
        self._failure = None
        try:
            await self._runner
        except Interrupted:
            self._state = SubscriptionState.STOPPED
        except asyncio.CancelledError:
            self._state = SubscriptionState.STOPPED
            self._log.warning(
                "subscription cancelled; the batch in progress is handed over again on restart",
                checkpoint=self._checkpoint,
            )
            current = asyncio.current_task()
            if not self._stop_cancelled or (current is not None and current.cancelling()):
                raise
        except BaseException as error:
            self._state = SubscriptionState.FAILED
            self._failure = error
            self._delivery.last_error = repr(error)
            if not isinstance(error, HandlerError):
                self._log.error("subscription failed", error=repr(error))
            raise
        else:
            self._state = SubscriptionState.STOPPED
        finally:
            self._running = False
            self._runner = None
            self._finished.set()
            self._stopping.clear()
            self._wakeup.clear()
            for waiter in self._resets:
                if not waiter.done():
                    waiter.set_exception(
                        SubscriptionError(
                            f"subscription {self._id!r} stopped before it could reset; "
                            "call reset() again"
                        )
                    )
            self._resets.clear()
            self._log.info(
                "subscription stopped",
                state=self._state.value,
                checkpoint=self._checkpoint,
                handled=self._delivery.handled,
                parked=self._delivery.parked,
            )

    async def start(self) -> None:
        """Run it in a background task; `stop()` ends it, `wait()` awaits it."""
        if self._running or (self._task is not None and not self._task.done()):
            raise SubscriptionError(f"subscription {self._id!r} is already running")
        self._task = asyncio.create_task(self.run(), name=f"subscription {self._id}")
        self._task.add_done_callback(_retrieve)
        await asyncio.sleep(0)

    async def wait(self) -> None:
        """Wait for the background task of `start()` to end; re-raise its failure."""
        if self._task is not None:
            await asyncio.wait({self._task})
        if self._failure is not None:
            raise self._failure

    async def stop(self, *, timeout: float | None = None) -> None:
        """Stop after the batch in progress, with its checkpoint stored.

        A handler still busy after `timeout` seconds is cancelled: its batch is
        handed over again on the next run, and `run()` returns (whether it
        runs in the background of `start()` or is awaited directly). Stopping
        never raises the subscription's failure: see `wait()`, `status()` or
        the ``async with`` exit.
        """
        task = self._task
        if not self._running and (task is None or task.done()):
            return
        self._stopping.set()
        self._wakeup.set()
        if asyncio.current_task() is self._runner:
            return  # called by the handler: the loop stops once this batch is done
        finished = asyncio.create_task(self._finished.wait())
        try:
            done, _ = await asyncio.wait({finished}, timeout=timeout)
        finally:
            await _cancel(finished)
        runner = self._runner
        if not done and runner is not None and not runner.done():
            self._log.warning("subscription did not stop in time; cancelling", timeout=timeout)
            self._stop_cancelled = True
            runner.cancel()
            await self._finished.wait()
        if task is not None:
            await asyncio.wait({task})

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc is None and self._failure is not None:
            raise self._failure

    # --- operations ----------------------------------------------------------

    async def reset(self) -> None:
        """Rebuild from the first event: move the checkpoint before it, clear the read model.

        The checkpoint is stored as the store's `start_position`, then
        `on_reset` runs (clear the read model there). On a running
        subscription it happens between two batches; otherwise the next
        `run()` starts from the beginning, even with ``start="now"`` and in
        another process: the stored checkpoint says so.
        """
        if self._running:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._resets.append(waiter)
            self._wakeup.set()
            if asyncio.current_task() is not self._runner:
                await waiter
            else:
                # From the handler: the reset happens once this batch is done.
                waiter.add_done_callback(_retrieve)
            return
        async with self._lock:
            await self._forget()

    async def status(self, *, lag_limit: int = 10_000) -> SubscriptionStatus:
        """Its stored checkpoint, the head, and how many events it has still to handle.

        Counting the lag reads the events after the checkpoint (at most
        `lag_limit` of them): cheap when the subscription keeps up.
        """
        checkpoint = await self._store.load_checkpoint(self._id)
        head = await self._store.head_position()
        if checkpoint is None and self._start == "now":
            lag, exact = 0, True  # it will start at the head
        else:
            reader = self._reader(checkpoint, min(lag_limit, 1000) or 1)
            lag, exact = await count_lag(reader, head=head, wanted=self._wanted, limit=lag_limit)
        return SubscriptionStatus(
            subscription_id=self._id,
            state=self._state,
            checkpoint=checkpoint,
            head_position=head,
            lag=lag,
            lag_exact=exact,
            handled=self._delivery.handled,
            parked=self._delivery.parked,
            last_error=self._delivery.last_error,
        )

    async def parked(self) -> list[ParkedEvent]:
        """The events parked by ``on_error="park"`` and not replayed yet."""
        return await list_parked(self._store, self._id)

    async def replay_parked(self, *, event_ids: Collection[UUID] | None = None) -> ReplayResult:
        """Hand the parked events (or those in `event_ids`) to the handler once more.

        Each is tried once, between batches of a running subscription; those
        that fail again stay parked and are listed in the result.
        """
        async with self._lock:
            return await replay_parked(
                self._store, self._id, self._delivery.replay, event_ids=event_ids
            )

    # --- the loop ------------------------------------------------------------

    async def _loop(self) -> None:
        store_failures = 0
        while True:
            # Under the same retry as the reads: a database restarting, or a
            # SQLite lock held by another process, at boot must not fail it.
            try:
                checkpoint = await self._initial_checkpoint()
                break
            except (TransientStoreError, StoreUnavailableError) as error:
                store_failures += 1
                if await self._back_off(error, store_failures):
                    return
        self._checkpoint = checkpoint
        self._log.info(
            "subscription started",
            checkpoint=checkpoint,
            start=self._start,
            category=self._category,
            event_types=self._event_types,
            batch_size=self._batch_size,
            transactional=self._transactional,
            on_error=self._on_error,
            partition=None if self._partition is None else self._partition.subscription_id,
        )
        self._state = SubscriptionState.CATCHING_UP
        armed: asyncio.Task[bool] | None = None
        near_head = False
        store_failures = 0
        last_progress = time.monotonic()
        try:
            while not self._stopping.is_set():
                if self._resets:
                    await self._reset_now()
                    checkpoint = self._checkpoint
                    near_head = False
                    continue
                if near_head and armed is None:
                    # Listen before reading: an append that commits after the
                    # read then still wakes the wait below.
                    armed = asyncio.create_task(
                        self._store.wait_for_events(timeout=self._poll_interval)
                    )
                    await asyncio.sleep(0)
                try:
                    read = await self._read_and_deliver(checkpoint)
                except (TransientStoreError, StoreUnavailableError) as error:
                    store_failures += 1
                    if await self._back_off(error, store_failures):
                        break
                    continue
                store_failures = 0
                if read:
                    checkpoint = self._checkpoint
                if read == self._batch_size:
                    near_head = False
                    await _cancel(armed)
                    armed = None
                    if self._state is SubscriptionState.LIVE:
                        self._state = SubscriptionState.CATCHING_UP
                        self._log.info(
                            "subscription fell behind; catching up", checkpoint=checkpoint
                        )
                    if time.monotonic() - last_progress >= _PROGRESS_EVERY_S:
                        last_progress = time.monotonic()
                        self._log.info(
                            "subscription catching up",
                            checkpoint=checkpoint,
                            handled=self._delivery.handled,
                        )
                    continue
                if self._state is not SubscriptionState.LIVE:
                    self._state = SubscriptionState.LIVE
                    self._log.info(
                        "subscription live", checkpoint=checkpoint, handled=self._delivery.handled
                    )
                near_head = True
                if armed is None:
                    continue  # not listening during that read: listen, then read again
                await self._wait(armed)
                armed = None
        finally:
            await _cancel(armed)

    async def _read_and_deliver(self, checkpoint: Position | None) -> int:
        records = await take(self._reader(checkpoint, self._batch_size), self._batch_size)
        if not records:
            return 0
        events = [record for record in records if self._wanted(record)]
        end = records[-1].position
        started = time.perf_counter()
        async with self._lock:
            await self._delivery.deliver(events, end)
        self._checkpoint = end
        self._log.debug(
            "subscription batch",
            read=len(records),
            delivered=len(events),
            checkpoint=end,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return len(records)

    async def _wait(self, armed: asyncio.Task[bool]) -> None:
        woken = asyncio.create_task(self._wakeup.wait())
        try:
            await asyncio.wait({armed, woken}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await _cancel(woken)
            if not armed.done():
                await _cancel(armed)
        if not self._stopping.is_set():
            self._wakeup.clear()
        if armed.done() and not armed.cancelled() and armed.exception() is not None:
            # A broken listener must not turn the wait into a busy loop.
            self._log.warning(
                "waiting for new events failed; polling", error=repr(armed.exception())
            )
            await self._pause(self._poll_interval)

    async def _back_off(self, error: Exception, failures: int) -> bool:
        """Log a store error and wait before trying again; True when stopping."""
        delay = self._retry.delay(min(failures, 20)) or self._poll_interval
        self._log.warning(
            "subscription store error; retrying",
            error=repr(error),
            attempt=failures,
            retry_in_s=delay,
        )
        return await self._pause(delay)

    async def _pause(self, seconds: float) -> bool:
        """Sleep `seconds` unless a stop comes first; True when stopping."""
        if not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), seconds)
        return self._stopping.is_set()

    async def _initial_checkpoint(self) -> Position | None:
        checkpoint = await self._store.load_checkpoint(self._id)
        if checkpoint is None and self._start == "now":
            # Stored at once: a restart before the first event must not move "now".
            checkpoint = await self._store.head_position()
            if checkpoint is not None:
                await self._store.save_checkpoint(self._id, checkpoint)
        return checkpoint

    async def _reset_now(self) -> None:
        waiters, self._resets = self._resets, []
        try:
            async with self._lock:
                await self._forget()
        except BaseException as error:
            for waiter in waiters:
                waiter.set_exception(error)
            raise
        self._state = SubscriptionState.CATCHING_UP
        for waiter in waiters:
            waiter.set_result(None)

    async def _forget(self) -> None:
        # The checkpoint goes first: a crash before the read model is cleared
        # then hands events over again (at-least-once), never skips them. It
        # is stored, not deleted: without a checkpoint a ``start="now"``
        # subscription restarted in another process would begin at the head
        # and never rebuild the cleared read model.
        start = self._store.start_position
        await self._store.save_checkpoint(self._id, start)
        if self._on_reset is not None:
            await self._on_reset()
        self._checkpoint = start
        self._log.info("subscription reset; it rebuilds from the beginning")

    def _reader(self, checkpoint: Position | None, batch_size: int) -> AsyncIterator[RecordedEvent]:
        if self._category is not None:
            return self._store.read_category(
                self._category,
                from_position=checkpoint,
                event_types=self._event_types,
                batch_size=batch_size,
            )
        return self._store.read_all(
            from_position=checkpoint, event_types=self._event_types, batch_size=batch_size
        )

    def _wanted(self, record: RecordedEvent) -> bool:
        if is_parking_record(record):
            return False
        return self._partition is None or self._partition.owns(record.stream_id)


def subscribe(
    store: EventStore, subscription_id: str, handler: Handler, **options: Any
) -> Subscription:
    """A subscription named `subscription_id` that feeds `handler` from `store`'s global order.

    It resumes from its stored checkpoint; see `Subscription` for the
    options. `handler` takes a `RecordedEvent` (a list of them with
    ``batched=True``), plus a `HandlerContext` with ``transactional=True``.
    Start it with ``await subscription.start()`` or ``async with``.
    """
    return Subscription(store, subscription_id, handler, **options)


def _is_async_callable(handler: object) -> bool:
    if inspect.iscoroutinefunction(handler):
        return True
    call = getattr(handler, "__call__", None)  # noqa: B004 - the method itself is inspected
    return callable(handler) and inspect.iscoroutinefunction(call)


async def _cancel(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` and wait for it to end."""
    if task is None:
        return
    task.cancel()
    await asyncio.wait({task})


def _retrieve(task: asyncio.Future[None]) -> None:
    # The failure is logged by run() and raised by wait() / the `async with`
    # exit; retrieving it here spares asyncio's "never retrieved" warning.
    if not task.cancelled():
        task.exception()
