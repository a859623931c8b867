"""Catch-up: one reader kept open across batches, pages that grow, checkpoints now and then.

While a subscription catches up it reads ahead of the batch it delivers and
(unless transactional) stores its checkpoint only every
`checkpoint_interval` seconds. Neither may move the checkpoint past an
event the handler has not finished, nor skip one.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from subscription_support import GUARD_S, NO_WAIT, Backend, Versions, append, until

from eventsourcing_kit import EventStore, RecordedEvent, RetryPolicy, subscribe
from eventsourcing_kit.errors import (
    ConfigurationError,
    HandlerError,
    StoreUnavailableError,
    TransientStoreError,
)
from eventsourcing_kit.stores.driver import DriverTransaction, GlobalRead
from eventsourcing_kit.stores.memory import MemoryDriver
from eventsourcing_kit.subscriptions import HandlerContext, SubscriptionState

# Longer than any test: no checkpoint is stored for the interval's sake.
NEVER = 3600.0


def no_polling(backend: Backend) -> float:
    """A poll interval that leaves a live subscription to wake-ups alone (not on PostgreSQL,
    as in test_subscription_delivery)."""
    return 1.0 if backend.name == "postgres" else 3600.0


def versions(events: list[RecordedEvent]) -> list[int]:
    return [event.version for event in events]


async def test_a_stop_mid_catch_up_stores_the_checkpoint_of_the_last_handled_event(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 20)
    positions = [event.position async for event in store.read_all()]
    handled: list[RecordedEvent] = []

    async def stop_at_the_fifth(event: RecordedEvent) -> None:
        handled.append(event)
        if event.version == 5:
            await subscription.stop()  # from the handler: after this batch

    subscription = subscribe(
        store, "projection", stop_at_the_fifth, batch_size=3, checkpoint_interval=NEVER
    )
    await asyncio.wait_for(subscription.run(), GUARD_S)
    # The batch (4, 5, 6) completed; the reader had read further, and that
    # counts for nothing.
    assert versions(handled) == [1, 2, 3, 4, 5, 6]
    assert await store.load_checkpoint("projection") == positions[5]
    assert subscription.checkpoint == positions[5]


async def test_a_cancel_mid_catch_up_hands_over_again_what_followed_the_stored_checkpoint(
    backend: Backend,
) -> None:
    async with backend.open() as store:
        await append(store, "Account-1", 12)
        handled: list[int] = []
        stuck = asyncio.Event()

        async def stuck_on_the_eighth(event: RecordedEvent) -> None:
            handled.append(event.version)
            if event.version == 8:
                stuck.set()
                await asyncio.sleep(3600)

        subscription = subscribe(
            store, "projection", stuck_on_the_eighth, batch_size=3, checkpoint_interval=NEVER
        )
        task = asyncio.create_task(subscription.run())
        await asyncio.wait_for(stuck.wait(), GUARD_S)
        task.cancel()
        await asyncio.wait({task})
        # Nothing was stored while catching up: no checkpoint past event 7,
        # let alone past the events read ahead.
        assert await store.load_checkpoint("projection") is None
    async with backend.open() as store:
        again = Versions()

        async with subscribe(store, "projection", again, batch_size=3):
            await until(lambda: len(again) == 12)
    assert handled == list(range(1, 9))
    assert again == list(range(1, 13))


async def test_a_handler_failing_mid_page_skips_none_of_the_events_read_ahead(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 30)
    handled: list[int] = []
    failures = 0

    async def fails_twice_on_the_eleventh(event: RecordedEvent) -> None:
        nonlocal failures
        if event.version == 11 and failures < 2:
            failures += 1
            raise RuntimeError("not yet")
        handled.append(event.version)

    subscription = subscribe(
        store,
        "projection",
        fails_twice_on_the_eleventh,
        batch_size=4,
        retry=NO_WAIT,
        checkpoint_interval=NEVER,
    )
    async with subscription:
        await until(lambda: len(handled) == 30)
    assert handled == list(range(1, 31))
    last = [event.position async for event in store.read_all()][-1]
    assert await store.load_checkpoint("projection") == last


async def test_a_handler_failing_for_good_mid_page_stores_the_checkpoint_before_it(
    backend: Backend,
) -> None:
    async with backend.open() as store:
        await append(store, "Account-1", 30)
        positions = [event.position async for event in store.read_all()]

        async def fails_on_the_eleventh(event: RecordedEvent) -> None:
            if event.version == 11:
                raise RuntimeError("never")

        subscription = subscribe(
            store,
            "projection",
            fails_on_the_eleventh,
            batch_size=4,
            retry=NO_WAIT,
            checkpoint_interval=NEVER,
        )
        with pytest.raises(HandlerError):
            await asyncio.wait_for(subscription.run(), GUARD_S)
        assert await store.load_checkpoint("projection") == positions[9]
    async with backend.open() as store:
        again = Versions()

        async with subscribe(store, "projection", again, batch_size=4):
            await until(lambda: len(again) == 20)
    assert again == list(range(11, 31))


async def test_a_stop_while_a_failing_event_waits_keeps_the_batches_handled_before_it(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 10)
    positions = [event.position async for event in store.read_all()]
    failed = asyncio.Event()

    async def fails_on_the_fifth(event: RecordedEvent) -> None:
        if event.version == 5:
            failed.set()
            raise RuntimeError("not now")

    subscription = subscribe(
        store,
        "projection",
        fails_on_the_fifth,
        batch_size=2,
        retry=RetryPolicy(initial_delay=NEVER),
        checkpoint_interval=NEVER,
    )
    await subscription.start()
    await asyncio.wait_for(failed.wait(), GUARD_S)
    await asyncio.wait_for(subscription.stop(), GUARD_S)
    # The fifth event opened its batch; the two batches before it were
    # handled while catching up, their checkpoint pending: it was stored
    # before the retries began.
    assert await store.load_checkpoint("projection") == positions[3]


class FailsToBegin(MemoryDriver):
    """A memory driver whose checkpoint transaction number `failing` fails to begin."""

    def __init__(self, failing: int) -> None:
        super().__init__()
        self.failing = failing
        self.begun = 0

    def transaction(self, subscription_id: str) -> Any:
        return self._beginning(super().transaction(subscription_id))

    @asynccontextmanager
    async def _beginning(self, inner: Any) -> AsyncIterator[DriverTransaction]:
        self.begun += 1
        if self.begun == self.failing:
            raise StoreUnavailableError("the connection closed before BEGIN")
        async with inner as handle:
            yield handle


async def test_a_batch_read_ahead_but_not_delivered_is_read_again_after_a_store_error() -> None:
    async with EventStore(FailsToBegin(failing=4)) as store:
        await append(store, "Account-1", 20)
        handled: list[int] = []

        async def collect(event: RecordedEvent, context: HandlerContext) -> None:
            handled.append(event.version)

        subscription = subscribe(
            store, "projection", collect, transactional=True, batch_size=3, poll_interval=0.01
        )
        async with subscription:
            await until(lambda: len(handled) >= 20)
        # The fourth batch (10, 11, 12) was read, by a reader that went on
        # reading after it, then its transaction failed to begin: it is read
        # again from the checkpoint, not skipped.
        assert handled == list(range(1, 21))


class FailsOneRead(MemoryDriver):
    """A memory driver whose global read number `failing` fails before its first event."""

    def __init__(self, failing: int) -> None:
        super().__init__()
        self.failing = failing
        self.reads = 0

    def read_global(self, request: GlobalRead) -> AsyncIterator[RecordedEvent]:
        self.reads += 1
        if self.reads == self.failing:
            return self._failing()
        return super().read_global(request)

    async def _failing(self) -> AsyncIterator[RecordedEvent]:
        raise TransientStoreError("the read timed out")
        yield  # type: ignore[unreachable]  # makes it an async generator


async def test_a_failed_read_mid_catch_up_hands_nothing_over_again() -> None:
    async with EventStore(FailsOneRead(failing=2)) as store:
        await append(store, "Account-1", 20)
        handled = Versions()

        subscription = subscribe(
            store,
            "projection",
            handled,
            batch_size=2,
            max_page_size=4,
            checkpoint_interval=NEVER,
            poll_interval=0.01,
        )
        async with subscription:
            await until(lambda: subscription.state is SubscriptionState.LIVE)
        # A read stores nothing: the batches handled before it, whose
        # checkpoint was still pending, are not read back and handed over again.
        assert handled == list(range(1, 21))


async def test_the_reader_stops_at_the_live_boundary_and_live_events_follow(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 10)
    handled = Versions()

    subscription = subscribe(store, "projection", handled, batch_size=3, checkpoint_interval=NEVER)
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE and len(handled) == 10)
        # At the live boundary the checkpoint is stored, interval or not.
        head = await store.head_position()
        await until(lambda: subscription.checkpoint == head)
        assert await store.load_checkpoint("projection") == head
        await append(store, "Account-1", 5)
        await until(lambda: len(handled) == 15)
    assert handled == list(range(1, 16))


async def test_a_live_batch_stores_its_checkpoint_at_once(
    backend: Backend, store: EventStore
) -> None:
    await append(store, "Account-1", 3)
    handled = Versions()

    subscription = subscribe(
        store,
        "projection",
        handled,
        batch_size=3,
        checkpoint_interval=NEVER,
        poll_interval=no_polling(backend),
    )
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE and len(handled) == 3)
        await append(store, "Account-1", 2)
        await until(lambda: len(handled) == 5)
        last = await store.head_position()
        # Not left pending until the next read: none comes before an append.
        await until(lambda: subscription.checkpoint == last)
        assert await store.load_checkpoint("projection") == last


async def test_pages_grow_while_full_up_to_max_page_size_and_shrink_when_live(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await append(store, "Account-1", 40)
    sizes: list[int] = []
    read_all = store.read_all

    def recording(**options: Any) -> Any:
        sizes.append(options["batch_size"])
        return read_all(**options)

    monkeypatch.setattr(store, "read_all", recording)
    handled = Versions()

    subscription = subscribe(store, "projection", handled, batch_size=2, max_page_size=8)
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE and len(handled) == 40)
        await append(store, "Account-1", 1)
        await until(lambda: len(handled) == 41)
    assert handled == list(range(1, 42))
    # Doubling while each page came back full, up to the cap; the reader of
    # pages of 8 then read on, across batches, to the end of the log. Live,
    # each read asks for the batch size again.
    assert sizes[:3] == [2, 4, 8]
    assert set(sizes[3:]) == {2}


async def test_checkpoint_interval_zero_stores_a_checkpoint_after_every_batch(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 9)
    positions = [event.position async for event in store.read_all()]
    stored: list[object] = []

    async def note_the_stored_checkpoint(event: RecordedEvent) -> None:
        if event.version in (4, 7):
            stored.append(await store.load_checkpoint("projection"))

    subscription = subscribe(
        store, "projection", note_the_stored_checkpoint, batch_size=3, checkpoint_interval=0
    )
    async with subscription:
        await until(lambda: subscription.checkpoint == positions[8])
    assert stored == [positions[2], positions[5]]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"checkpoint_interval": -1}, "checkpoint_interval must be seconds >= 0"),
        ({"checkpoint_interval": True}, "checkpoint_interval must be seconds >= 0"),
        ({"checkpoint_interval": 2, "transactional": True}, "does not apply to a transactional"),
        ({"max_page_size": 50, "batch_size": 100}, "max_page_size must be an int >= batch_size"),
        ({"max_page_size": 1.5}, "max_page_size must be an int"),
    ],
)
def test_catch_up_options_are_checked(
    store: EventStore, options: dict[str, Any], message: str
) -> None:
    async def handler(event: RecordedEvent) -> None:
        pass

    with pytest.raises(ConfigurationError, match=message):
        subscribe(store, "projection", handler, **options)
