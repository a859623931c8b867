"""`Subscription`: feed a handler from the global order, resuming from a checkpoint."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Iterable
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import HandlerError, SubscriptionError
from eventsourcing_kit.stores import EventStore, Position
from eventsourcing_kit.subscriptions._delivery import Delivery, Interrupted
from eventsourcing_kit.subscriptions._follower import Follower
from eventsourcing_kit.subscriptions._groups import GroupMember
from eventsourcing_kit.subscriptions._leasing import Leasing
from eventsourcing_kit.subscriptions._options import (
    Handler,
    LeasePolicy,
    OnError,
    RetryPolicy,
    Start,
)
from eventsourcing_kit.subscriptions._pacing import Pacer
from eventsourcing_kit.subscriptions._parking import (
    ParkedEvent,
    ReplayResult,
    list_parked,
    replay_parked,
)
from eventsourcing_kit.subscriptions._settings import (
    DEFAULT_SUBSCRIPTION_BATCH_SIZE,
    check_settings,
)
from eventsourcing_kit.subscriptions._source import Source
from eventsourcing_kit.subscriptions._status import (
    SubscriptionState,
    SubscriptionStatus,
    count_lag,
)
from eventsourcing_kit.subscriptions._tasks import cancel, retrieve

__all__ = ["DEFAULT_SUBSCRIPTION_BATCH_SIZE", "Subscription"]

logger = get_logger(__name__)

_PROGRESS_EVERY_S = 5.0


class Subscription:
    """A named reader of the global order that hands events to `handler`.

    It starts from its stored checkpoint (or, without one, from the beginning
    or from the head: `start`), hands history over in batches of
    `batch_size`, then waits for new events without polling
    (`EventStore.wait_for_events`; it re-reads every `poll_interval` seconds
    anyway, which covers a missed wake-up). After a batch the handler
    completed, the checkpoint is stored (while catching up, see
    `checkpoint_interval`): delivery is at-least-once, and a restarted
    subscription resumes after the last stored checkpoint.

    Options (keyword-only):

    - `category`: only streams of this category; `event_types`: only events
      of these types (both filter in the store).
    - `batched`: the handler receives a list of events per call instead of
      one event.
    - `max_page_size`: while catching up, history is read by one reader kept
      open across batches, one page ahead of delivery, whose pages double
      from `batch_size` while they come back full, up to this (default 1000,
      or `batch_size` if larger); memory holds at most two such pages.
    - `checkpoint_interval`: seconds between two checkpoints stored while
      catching up (default 1.0; 0 stores one after every batch). A live
      batch, a handler failure and a stop store it at once. A crash hands
      over again what was handled since the stored one. Only for
      subscriptions that are not transactional: a transactional one stores
      its checkpoint with every batch.
    - `transactional`: the handler also receives a `HandlerContext` whose
      `connection` is inside the transaction that stores the checkpoint;
      read-model writes made through it are exactly-once (PostgreSQL, SQLite).
    - `retry`: a `RetryPolicy` for a handler that raises; once an event has
      used up its retries, `on_error="stop"` (default) ends `run()` with
      `HandlerError`, and ``"park"`` parks the event (`parked()`,
      `replay_parked()`) and goes on.
    - `lease`: one active runner per subscription id, in any number of
      processes: a `LeasePolicy` (its ttl bounds the takeover), ``False``
      for none; by default a `LeasePolicy()` where the store keeps leases.
      The other runners stand by (state ``standby``).
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
        lease: LeasePolicy | bool | None = None,
        checkpoint_interval: float | None = None,
        max_page_size: int | None = None,
    ) -> None:
        settings = check_settings(
            store,
            subscription_id,
            handler,
            start=start,
            category=category,
            event_types=event_types,
            batch_size=batch_size,
            batched=batched,
            transactional=transactional,
            on_error=on_error,
            retry=retry,
            poll_interval=poll_interval,
            partition=partition,
            on_reset=on_reset,
            lease=lease,
            checkpoint_interval=checkpoint_interval,
            max_page_size=max_page_size,
        )
        self._id = settings.subscription_id
        self._settings = settings
        self._store = store
        self._source = Source(store, settings.category, settings.event_types, partition)
        self._log = logger.bind(subscription_id=self._id)
        self._pacer = Pacer(
            poll_interval=settings.poll_interval, retry=settings.retry, log=self._log
        )
        self._stopping = self._pacer.stopping
        self._wakeup = self._pacer.wakeup
        self._finished = asyncio.Event()
        self._lock = asyncio.Lock()
        self._delivery = Delivery(
            store,
            self._id,
            handler,
            transactional=settings.transactional,
            batched=settings.batched,
            retry=settings.retry,
            on_error=settings.on_error,
            pause=self._pacer.pause,
            checkpoint_interval=settings.checkpoint_interval,
        )
        self._follower = Follower(
            settings,
            store,
            source=self._source,
            delivery=self._delivery,
            pacer=self._pacer,
            lock=self._lock,
            log=self._log,
        )
        self._leasing = (
            None
            if settings.lease is None
            else Leasing(store, self._id, settings.lease, pacer=self._pacer, log=self._log)
        )
        self._running = False
        self._runner: asyncio.Task[Any] | None = None
        self._stop_cancelled = False
        self._task: asyncio.Task[None] | None = None
        self._failure: BaseException | None = None

    # --- what it is ----------------------------------------------------------

    @property
    def subscription_id(self) -> str:
        """The name its checkpoint is stored under."""
        return self._id

    @property
    def state(self) -> SubscriptionState:
        """Where it is now: idle, catching up, live, stopped or failed."""
        return self._follower.state

    @property
    def checkpoint(self) -> Position | None:
        """The last checkpoint this process stored or loaded (see `status()`)."""
        return self._follower.checkpoint

    def __repr__(self) -> str:
        return f"<Subscription {self._id!r} {self._follower.state.value}>"

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
        self._runner = asyncio.create_task(self._body(), name=f"subscription {self._id} loop")
        self._stop_cancelled = False
        self._finished.clear()
        self._failure = None
        try:
            await self._runner
        except Interrupted:
            self._follower.state = SubscriptionState.STOPPED
        except asyncio.CancelledError:
            self._follower.state = SubscriptionState.STOPPED
            self._log.warning(
                "subscription cancelled; what followed its stored checkpoint is handed over "
                "again on restart",
                checkpoint=self._follower.checkpoint,
            )
            current = asyncio.current_task()
            if not self._stop_cancelled or (current is not None and current.cancelling()):
                raise
        except BaseException as error:
            self._follower.state = SubscriptionState.FAILED
            self._failure = error
            self._delivery.last_error = repr(error)
            if isinstance(error, HandlerError):
                await self._follower.read_back_checkpoint()
            else:
                self._log.error("subscription failed", error=repr(error))
            raise
        else:
            self._follower.state = SubscriptionState.STOPPED
        finally:
            self._running = False
            self._runner = None
            self._finished.set()
            self._stopping.clear()
            self._wakeup.clear()
            self._follower.abandon_resets()
            self._log.info(
                "subscription stopped",
                state=self._follower.state.value,
                checkpoint=self._follower.checkpoint,
                handled=self._delivery.handled,
                parked=self._delivery.parked,
            )

    async def _body(self) -> None:
        if self._leasing is None:
            await self._follower.loop()
            return
        follower = self._follower

        def standing_by() -> None:
            follower.state = SubscriptionState.STANDBY

        await self._leasing.run(follower.loop, halt=follower.halt, on_standby=standing_by)

    async def start(self) -> None:
        """Run it in a background task; `stop()` ends it, `wait()` awaits it."""
        if self._running or (self._task is not None and not self._task.done()):
            raise SubscriptionError(f"subscription {self._id!r} is already running")
        self._task = asyncio.create_task(self.run(), name=f"subscription {self._id}")
        self._task.add_done_callback(retrieve)
        await asyncio.sleep(0)

    async def wait(self) -> None:
        """Wait for the background task of `start()` to end; re-raise its failure."""
        if self._task is not None:
            await asyncio.wait({self._task})
        if self._failure is not None:
            raise self._failure

    async def stop(self, *, timeout: float | None = None) -> None:
        """Stop after the batch in progress, with its checkpoint stored.

        A handler still busy after `timeout` seconds is cancelled: its batch
        (and what else followed the stored checkpoint) is handed over again
        on the next run, and `run()` returns (whether it
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
            await cancel(finished)
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
            self._follower.resets.append(waiter)
            self._wakeup.set()
            if asyncio.current_task() is not self._runner:
                await waiter
            else:
                # From the handler: the reset happens once this batch is done.
                waiter.add_done_callback(retrieve)
            return
        async with self._lock:
            await self._follower.forget()

    async def status(self, *, lag_limit: int = 10_000) -> SubscriptionStatus:
        """Its stored checkpoint, the head, and how many events it has still to handle.

        Counting the lag reads the events after the checkpoint (at most
        `lag_limit` of them): cheap when the subscription keeps up.
        """
        checkpoint = await self._store.load_checkpoint(self._id)
        head = await self._store.head_position()
        if checkpoint is None and self._settings.start == "now":
            lag, exact = 0, True  # it will start at the head
        else:
            reader = self._source.read(checkpoint, min(lag_limit, 1000) or 1)
            lag, exact = await count_lag(
                reader, head=head, wanted=self._source.wanted, limit=lag_limit
            )
        return SubscriptionStatus(
            subscription_id=self._id,
            state=self._follower.state,
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
