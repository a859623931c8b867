"""`Follower`: a subscription's loop: catch up in batches, then follow live."""

from __future__ import annotations

import asyncio
import time

from eventsourcing_kit._logging import Logger
from eventsourcing_kit.errors import (
    CheckpointFencedError,
    EventSourcingError,
    StoreUnavailableError,
    SubscriptionError,
    TransientStoreError,
)
from eventsourcing_kit.stores import EventStore, Position
from eventsourcing_kit.subscriptions._delivery import Delivery
from eventsourcing_kit.subscriptions._pacing import Pacer
from eventsourcing_kit.subscriptions._paging import Pager
from eventsourcing_kit.subscriptions._settings import Settings
from eventsourcing_kit.subscriptions._source import Source
from eventsourcing_kit.subscriptions._status import SubscriptionState
from eventsourcing_kit.subscriptions._tasks import cancel

__all__ = ["Follower"]

_PROGRESS_EVERY_S = 5.0

_STORE_ERRORS = (TransientStoreError, StoreUnavailableError)


class _ReadFailed(Exception):
    """A read of events failed: no checkpoint was written, none needs reading back."""

    def __init__(self, cause: TransientStoreError | StoreUnavailableError) -> None:
        super().__init__(cause)
        self.cause = cause


class Follower:
    """Reads a subscription's source after its checkpoint and delivers, until stopped.

    `state` and `checkpoint` are what the owning `Subscription` reports;
    `resets` are the reset requests the loop serves between two batches.
    """

    def __init__(
        self,
        settings: Settings,
        store: EventStore,
        *,
        source: Source,
        delivery: Delivery,
        pacer: Pacer,
        lock: asyncio.Lock,
        log: Logger,
    ) -> None:
        self._settings = settings
        self._id = settings.subscription_id
        self._store = store
        self._source = source
        self._delivery = delivery
        self._pacer = pacer
        self._lock = lock
        self._log = log
        self.state = SubscriptionState.IDLE
        # The checkpoint stored (or loaded) last, and where reading goes on:
        # further on while a handled batch's checkpoint is pending.
        self.checkpoint: Position | None = None
        self.position: Position | None = None
        self._pager = Pager(
            source, batch_size=settings.batch_size, max_page_size=settings.max_page_size
        )
        self.resets: list[asyncio.Future[None]] = []
        # Set when this runner lost its lease: end the loop after the batch.
        self.halt = asyncio.Event()

    async def loop(self) -> None:
        store_failures = 0
        while True:
            # Under the same retry as the reads: a database restarting, or a
            # SQLite lock held by another process, at boot must not fail it.
            try:
                checkpoint = await self._initial_checkpoint()
                break
            except (TransientStoreError, StoreUnavailableError) as error:
                store_failures += 1
                if await self._pacer.back_off(error, store_failures):
                    return
        self.checkpoint = self.position = checkpoint
        self._delivery.forget_pending(checkpoint)
        self._log.info(
            "subscription started",
            checkpoint=checkpoint,
            start=self._settings.start,
            category=self._settings.category,
            event_types=self._settings.event_types,
            batch_size=self._settings.batch_size,
            max_page_size=self._settings.max_page_size,
            checkpoint_interval=self._settings.checkpoint_interval,
            transactional=self._settings.transactional,
            on_error=self._settings.on_error,
            partition=None
            if self._settings.partition is None
            else self._settings.partition.subscription_id,
        )
        self.state = SubscriptionState.CATCHING_UP
        armed: asyncio.Task[bool] | None = None
        near_head = False
        store_failures = 0
        reload = False
        last_progress = time.monotonic()
        try:
            while not (self._pacer.stopping.is_set() or self.halt.is_set()):
                if self.resets:
                    await self._reset_now()
                    near_head = False
                    continue
                if near_head and armed is None:
                    # Listen before reading: an append that commits after the
                    # read then still wakes the wait below.
                    armed = asyncio.create_task(
                        self._store.wait_for_events(timeout=self._settings.poll_interval)
                    )
                    await asyncio.sleep(0)
                try:
                    if reload:
                        await self._reload()
                        reload = False
                    read = await self._read_and_deliver(self.position, near_head=near_head)
                except _ReadFailed as failed:
                    # Nothing was written: go on from where delivery got to,
                    # the pending checkpoint included.
                    store_failures += 1
                    if await self._pacer.back_off(failed.cause, store_failures):
                        break
                    continue
                except CheckpointFencedError as fenced:
                    # Another runner, or a reset, moved the checkpoint: what
                    # this one remembers is stale. Its batch stored nothing
                    # (and rolled back, if transactional): go on from the
                    # stored checkpoint.
                    self._log.warning(
                        "subscription fenced: its checkpoint moved under it; reloading",
                        expected=fenced.expected,
                        actual=fenced.actual,
                    )
                    reload = True
                    continue
                except _STORE_ERRORS as error:
                    # The failed call may have committed (a COMMIT whose reply
                    # was lost): the checkpoint in memory may be behind the
                    # stored one. Read it back before reading events again,
                    # or the committed batch would be handed over twice.
                    reload = True
                    store_failures += 1
                    if await self._pacer.back_off(error, store_failures):
                        break
                    continue
                store_failures = 0
                checkpoint = self.checkpoint
                if read == self._settings.batch_size:
                    near_head = False
                    await cancel(armed)
                    armed = None
                    if self.state is SubscriptionState.LIVE:
                        self.state = SubscriptionState.CATCHING_UP
                        self._log.info(
                            "subscription fell behind; catching up", checkpoint=checkpoint
                        )
                    if time.monotonic() - last_progress >= _PROGRESS_EVERY_S:
                        last_progress = time.monotonic()
                        self._log.info(
                            "subscription catching up",
                            checkpoint=checkpoint,
                            position=self.position,
                            page_size=self._pager.page_size,
                            handled=self._delivery.handled,
                        )
                    continue
                if self.state is not SubscriptionState.LIVE:
                    self.state = SubscriptionState.LIVE
                    self._log.info(
                        "subscription live", checkpoint=checkpoint, handled=self._delivery.handled
                    )
                near_head = True
                if armed is None:
                    continue  # not listening during that read: listen, then read again
                await self._pacer.wait_for_events(armed)
                armed = None
            await self._flush()
        finally:
            await cancel(armed)
            await self._pager.close()

    async def _flush(self) -> None:
        # A stop (or a lost lease) ends the loop between two batches: store
        # what was handled, so that a restart does not hand it over again.
        try:
            async with self._lock:
                await self._delivery.flush()
        except EventSourcingError as error:
            # Fenced (another runner moved it) or a store error: the events
            # after the stored checkpoint are handed over again, at-least-once.
            self._log.warning(
                "subscription checkpoint not stored at stop; the events after it are "
                "handed over again",
                checkpoint=self._delivery.stored,
                handled_up_to=self._delivery.pending,
                error=repr(error),
            )
            return
        self.checkpoint = self._delivery.stored

    async def _read_and_deliver(self, position: Position | None, *, near_head: bool) -> int:
        batch_size = self._settings.batch_size
        # A partition read where the events are stored never sees the other
        # partitions' events, so its checkpoint would stay at its own last
        # event, and every read would scan the others' events after it again.
        # Near the head, the head read before a page that ends short is a safe
        # checkpoint: every event up to it was visible to the read that
        # followed (the global order never lets one appear below it later).
        try:
            head = (
                await self._store.head_position() if near_head and self._source.filtered else None
            )
            records = await self._pager.take(position)
        except _STORE_ERRORS as error:
            raise _ReadFailed(error) from error
        live = len(records) < batch_size
        end = records[-1].position if records else None
        if head is not None and live and (end is None or end < head):
            end = head if position is None or head > position else end
        delivery = self._delivery
        if end is None:
            if delivery.pending is not None:
                # The log ended right after a full batch: at the live boundary
                # its checkpoint is stored, as any live batch's.
                async with self._lock:
                    await delivery.flush()
                self.checkpoint = delivery.stored
            return 0
        events = self._source.keep(records)
        started = time.perf_counter()
        async with self._lock:
            await delivery.deliver(events, end, live=live)
        self.position = end
        self.checkpoint = delivery.stored
        self._log.debug(
            "subscription batch",
            read=len(records),
            delivered=len(events),
            checkpoint=end,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return len(records)

    async def _reload(self) -> Position | None:
        checkpoint = await self._store.load_checkpoint(self._id)
        self.checkpoint = self.position = checkpoint
        self._delivery.forget_pending(checkpoint)
        self._log.info("subscription reloaded its checkpoint", checkpoint=checkpoint)
        return checkpoint

    async def read_back_checkpoint(self) -> None:
        """Read the stored checkpoint back after a handler failed for good.

        A batch that failed part way stored the checkpoint of the events
        handled before the failure, which the loop only learns of when a
        batch completes: read back, `checkpoint` tells where a restart resumes.
        """
        try:
            self.checkpoint = await self._store.load_checkpoint(self._id)
        except EventSourcingError as error:  # the stop line is still logged, with what is known
            self._log.warning("subscription checkpoint not read back", error=repr(error))

    def abandon_resets(self) -> None:
        """Fail the `reset()` calls still waiting: the loop ended before it could run them."""
        waiters, self.resets = self.resets, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_exception(
                    SubscriptionError(
                        f"subscription {self._id!r} stopped before it could reset; "
                        "call reset() again"
                    )
                )

    async def _initial_checkpoint(self) -> Position | None:
        checkpoint = await self._store.load_checkpoint(self._id)
        if checkpoint is None and self._settings.start == "now":
            # Stored at once: a restart before the first event must not move "now".
            head = await self._store.head_position()
            if head is not None:
                try:
                    await self._store.save_checkpoint(self._id, head, expected=None)
                except CheckpointFencedError:
                    # Another runner stored one first: start where it did.
                    return await self._store.load_checkpoint(self._id)
            checkpoint = head
        return checkpoint

    async def _reset_now(self) -> None:
        waiters, self.resets = self.resets, []
        try:
            async with self._lock:
                await self.forget()
        except BaseException as error:
            for waiter in waiters:
                waiter.set_exception(error)
            raise
        self.state = SubscriptionState.CATCHING_UP
        for waiter in waiters:
            waiter.set_result(None)

    async def forget(self) -> None:
        # The checkpoint goes first: a crash before the read model is cleared
        # then hands events over again (at-least-once), never skips them. It
        # is stored, not deleted: without a checkpoint a ``start="now"``
        # subscription restarted in another process would begin at the head
        # and never rebuild the cleared read model.
        start = self._store.start_position
        await self._store.save_checkpoint(self._id, start)
        self._delivery.forget_pending(start)
        self.position = start
        if self._settings.on_reset is not None:
            await self._settings.on_reset()
        self.checkpoint = start
        self._log.info("subscription reset; it rebuilds from the beginning")
