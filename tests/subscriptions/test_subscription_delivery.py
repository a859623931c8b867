"""Delivery: order, filters, batches, catch-up then live, resume after a restart."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Sequence

import pytest
from subscription_support import GUARD_S, Backend, append, until

from eventsourcing_kit import EventStore, NewEvent, RecordedEvent, subscribe
from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.subscriptions import Subscription, SubscriptionState


class Collector:
    """A handler that keeps what it was given."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.batches: list[list[RecordedEvent]] = []

    async def __call__(self, event: RecordedEvent) -> None:
        self.events.append(event)

    async def batch(self, events: Sequence[RecordedEvent]) -> None:
        self.batches.append(list(events))
        self.events.extend(events)

    def ids(self) -> list[str]:
        return [f"{event.stream_id}@{event.version}" for event in self.events]


async def test_store_subscribe_returns_a_subscription(store: EventStore) -> None:
    subscription = subscribe(store, "projection", Collector())
    assert isinstance(subscription, Subscription)
    assert subscription.subscription_id == "projection"


async def test_history_is_delivered_in_global_order(store: EventStore) -> None:
    await append(store, "Account-1", 2)
    await append(store, "Account-2", 1)
    await append(store, "Account-1", 1)
    handler = Collector()
    async with subscribe(store, "projection", handler, batch_size=2):
        await until(lambda: len(handler.events) == 4)
    assert handler.ids() == ["Account-1@1", "Account-1@2", "Account-2@1", "Account-1@3"]


async def test_start_now_skips_history_and_delivers_what_comes_after(store: EventStore) -> None:
    await append(store, "Account-1", 3)
    handler = Collector()
    async with subscribe(store, "projection", handler, start="now") as subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
        await append(store, "Account-2", 1)
        await until(lambda: len(handler.events) == 1)
    assert handler.ids() == ["Account-2@1"]


async def test_start_now_is_fixed_at_the_first_run(backend: Backend) -> None:
    async with backend.open() as store:
        await append(store, "Account-1", 1)
        subscription = subscribe(store, "projection", Collector(), start="now")
        async with subscription:
            await until(lambda: subscription.state is SubscriptionState.LIVE)
        await append(store, "Account-2", 1)  # while it is down
    handler = Collector()
    async with backend.open() as store, subscribe(store, "projection", handler, start="now"):
        await until(lambda: len(handler.events) == 1)
    assert handler.ids() == ["Account-2@1"]


async def test_category_filter_delivers_only_that_category(store: EventStore) -> None:
    await append(store, "Account-1", 1)
    await append(store, "Order-1", 1)
    await append(store, "Account-2", 1)
    handler = Collector()
    async with subscribe(store, "accounts", handler, category="Account") as subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    assert handler.ids() == ["Account-1@1", "Account-2@1"]


async def test_event_type_filter_delivers_only_those_types(store: EventStore) -> None:
    await append(store, "Account-1", 1, "Opened")
    await append(store, "Account-1", 1, "Deposited")
    await append(store, "Account-1", 1, "Closed")
    handler = Collector()
    subscription = subscribe(store, "types", handler, event_types=["Opened", "Closed"])
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    assert [event.event_type for event in handler.events] == ["Opened", "Closed"]


async def test_a_batch_handler_gets_bounded_batches(store: EventStore) -> None:
    await append(store, "Account-1", 7)
    handler = Collector()
    async with subscribe(store, "batches", handler.batch, batched=True, batch_size=3):
        await until(lambda: len(handler.events) == 7)
    assert [len(batch) for batch in handler.batches] == [3, 3, 1]


def no_polling(backend: Backend) -> float:
    """A poll interval that turns a missed wake-up into a hang (the guard fails the test).

    PostgreSQL keeps its default: a read at the head may return before an
    unrelated long transaction ends, and no append wakes the reader when it does.
    """
    return 1.0 if backend.name == "postgres" else 3600.0


async def test_live_events_reach_a_caught_up_subscriber(
    backend: Backend, store: EventStore
) -> None:
    handler = Collector()
    subscription = subscribe(store, "live", handler, poll_interval=no_polling(backend))
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
        for number in range(3):
            await append(store, f"Account-{number}", 1)
            await until(lambda n=number: len(handler.events) == n + 1)
    assert handler.ids() == ["Account-0@1", "Account-1@1", "Account-2@1"]


async def test_a_restarted_subscription_resumes_after_its_checkpoint(backend: Backend) -> None:
    first = Collector()
    async with backend.open() as store:
        await append(store, "Account-1", 3)
        async with subscribe(store, "projection", first):
            await until(lambda: len(first.events) == 3)
    async with backend.open() as store:
        await append(store, "Account-1", 2)
        second = Collector()
        async with subscribe(store, "projection", second):
            await until(lambda: len(second.events) == 2)
    assert second.ids() == ["Account-1@4", "Account-1@5"]


async def test_a_crash_mid_batch_hands_the_batch_over_again(backend: Backend) -> None:
    """At-least-once: cancelling the runner mid-batch loses nothing.

    With ``checkpoint_interval=0`` every batch stores its checkpoint, so only
    the batch in progress is handed over again.
    """
    async with backend.open() as store:
        await append(store, "Account-1", 6)
        handled: list[str] = []
        blocked = asyncio.Event()

        async def stuck_on_the_fifth(event: RecordedEvent) -> None:
            handled.append(f"{event.stream_id}@{event.version}")
            if event.version == 5:
                blocked.set()
                await asyncio.sleep(3600)

        subscription = subscribe(
            store, "projection", stuck_on_the_fifth, batch_size=3, checkpoint_interval=0
        )
        task = asyncio.create_task(subscription.run())
        await asyncio.wait_for(blocked.wait(), GUARD_S)
        task.cancel()
        await asyncio.wait({task})
    async with backend.open() as store:
        again = Collector()
        async with subscribe(store, "projection", again, batch_size=3):
            await until(lambda: len(again.events) == 3)
    assert handled == [f"Account-1@{n}" for n in range(1, 6)]
    assert again.ids() == ["Account-1@4", "Account-1@5", "Account-1@6"]


async def test_concurrent_writers_reach_a_live_subscriber_once_each_in_stream_order(
    backend: Backend, store: EventStore
) -> None:
    writers, appends = 4, 15
    seen: Counter[str] = Counter()
    versions: defaultdict[str, list[int]] = defaultdict(list)

    async def handler(event: RecordedEvent) -> None:
        seen[str(event.event_id)] += 1
        versions[event.stream_id].append(event.version)

    async def writer(number: int) -> None:
        for index in range(appends):
            # Two streams per writer, and one stream every writer shares.
            stream = f"Account-{number}-{index % 2}" if index % 3 else "Account-shared"
            await store.append_events(stream, [NewEvent("Happened", {"w": number})])

    subscription = subscribe(
        store, "live", handler, batch_size=7, poll_interval=no_polling(backend)
    )
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
        await asyncio.gather(*(writer(number) for number in range(writers)))
        await until(lambda: len(seen) == writers * appends)
        head = await store.head_position()
        await until(lambda: subscription.checkpoint == head)
    assert set(seen.values()) == {1}
    for stream, stream_versions in versions.items():
        assert stream_versions == list(range(1, len(stream_versions) + 1)), stream


def test_a_sync_handler_is_refused_at_construction(store: EventStore) -> None:
    handled: list[RecordedEvent] = []

    def sync_handler(event: RecordedEvent) -> None:
        handled.append(event)

    with pytest.raises(ConfigurationError, match="async def"):
        subscribe(store, "projection", sync_handler)  # type: ignore[arg-type]
