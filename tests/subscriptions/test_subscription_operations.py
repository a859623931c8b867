"""Operations: graceful stop, status and lag, reset, the runner, log lines."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from structlog.testing import capture_logs
from subscription_support import GUARD_S, Backend, append, until

from eventsourcing_kit import EventStore, RecordedEvent, subscribe
from eventsourcing_kit.errors import HandlerError, SubscriptionError
from eventsourcing_kit.subscriptions import (
    RetryPolicy,
    Subscription,
    SubscriptionRunner,
    SubscriptionState,
)


class Gate:
    """A handler that holds the first event until released."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.handled: list[int] = []

    async def __call__(self, event: RecordedEvent) -> None:
        if not self.handled:
            self.entered.set()
            await self.release.wait()
        self.handled.append(event.version)


async def test_stop_finishes_the_batch_and_stores_its_checkpoint(store: EventStore) -> None:
    await append(store, "Account-1", 5)
    positions = [event.position async for event in store.read_all()]
    gate = Gate()
    subscription = subscribe(store, "projection", gate, batch_size=3)
    await subscription.start()
    await asyncio.wait_for(gate.entered.wait(), GUARD_S)
    stopping = asyncio.create_task(subscription.stop())
    await asyncio.sleep(0)
    gate.release.set()
    await asyncio.wait_for(stopping, GUARD_S)
    assert gate.handled == [1, 2, 3]
    assert await store.load_checkpoint("projection") == positions[2]
    assert subscription.state is SubscriptionState.STOPPED


async def test_stop_ends_a_live_wait(store: EventStore) -> None:
    subscription = subscribe(store, "projection", Gate(), poll_interval=3600)
    await subscription.start()
    await until(lambda: subscription.state is SubscriptionState.LIVE)
    await asyncio.wait_for(subscription.stop(), GUARD_S)
    assert subscription.state is SubscriptionState.STOPPED


async def test_stop_ends_a_retry_backoff_without_passing_the_event(store: EventStore) -> None:
    await append(store, "Account-1", 1)
    failed = asyncio.Event()

    async def failing(event: RecordedEvent) -> None:
        failed.set()
        raise RuntimeError("down")

    subscription = subscribe(
        store, "projection", failing, retry=RetryPolicy(initial_delay=3600, max_delay=3600)
    )
    await subscription.start()
    await asyncio.wait_for(failed.wait(), GUARD_S)
    await asyncio.wait_for(subscription.stop(), GUARD_S)
    assert await store.load_checkpoint("projection") is None


async def test_a_handler_can_stop_its_own_subscription_after_the_batch(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 4)
    positions = [event.position async for event in store.read_all()]
    handled: list[int] = []

    async def stop_on_the_second(event: RecordedEvent) -> None:
        handled.append(event.version)
        if event.version == 2:
            await subscription.stop()

    subscription = subscribe(store, "projection", stop_on_the_second, batch_size=3)
    await asyncio.wait_for(subscription.run(), GUARD_S)
    assert handled == [1, 2, 3]
    assert await store.load_checkpoint("projection") == positions[2]


async def test_a_subscription_cannot_run_twice_at_once(store: EventStore) -> None:
    subscription = subscribe(store, "projection", Gate())
    async with subscription:
        with pytest.raises(SubscriptionError):
            await subscription.run()


async def test_status_reports_checkpoint_head_and_lag(store: EventStore) -> None:
    await append(store, "Account-1", 3)
    positions = [event.position async for event in store.read_all()]
    await store.save_checkpoint("projection", positions[0])
    status = await subscribe(store, "projection", Gate()).status()
    assert (status.checkpoint, status.head_position, status.lag, status.lag_exact) == (
        positions[0],
        positions[2],
        2,
        True,
    )


async def test_status_lag_counts_only_what_the_subscription_would_handle(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 2)
    await append(store, "Order-1", 3)
    status = await subscribe(store, "projection", Gate(), category="Order").status()
    assert status.lag == 3


async def test_status_stops_counting_at_the_lag_limit(store: EventStore) -> None:
    await append(store, "Account-1", 5)
    status = await subscribe(store, "projection", Gate()).status(lag_limit=2)
    assert (status.lag, status.lag_exact) == (2, False)


async def test_reset_rebuilds_from_the_first_event(store: EventStore) -> None:
    await append(store, "Account-1", 2)
    seen: list[int] = []
    cleared: list[bool] = []

    async def handler(event: RecordedEvent) -> None:
        seen.append(event.version)

    async def clear() -> None:
        cleared.append(True)
        seen.clear()

    subscription = subscribe(store, "projection", handler, on_reset=clear)
    async with subscription:
        await until(lambda: seen == [1, 2])
        await subscription.reset()
        await until(lambda: seen == [1, 2])
    assert cleared == [True]


async def test_reset_of_a_stopped_start_now_subscription_rebuilds_from_the_beginning(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 2)
    seen: list[int] = []

    async def handler(event: RecordedEvent) -> None:
        seen.append(event.version)

    subscription = subscribe(store, "projection", handler, start="now")
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    assert seen == []
    await subscription.reset()
    async with subscription:
        await until(lambda: seen == [1, 2])


async def test_the_runner_stops_every_subscription_gracefully(store: EventStore) -> None:
    await append(store, "Account-1", 2)
    gates = [Gate(), Gate()]
    for gate in gates:
        gate.release.set()
    runner = SubscriptionRunner(
        [subscribe(store, "one", gates[0]), subscribe(store, "two", gates[1], category="Account")]
    )
    async with runner:
        await until(lambda: all(s.state is SubscriptionState.LIVE for s in runner.subscriptions))
        statuses = await runner.status()
    assert [status.lag for status in statuses] == [0, 0]
    assert all(s.state is SubscriptionState.STOPPED for s in runner.subscriptions)
    assert [await store.load_checkpoint(name) for name in ("one", "two")] == [
        statuses[0].head_position
    ] * 2


async def test_the_runner_stops_the_others_and_raises_when_one_fails(store: EventStore) -> None:
    await append(store, "Account-1", 1)

    async def failing(event: RecordedEvent) -> None:
        raise RuntimeError("poison")

    healthy = Gate()
    healthy.release.set()
    runner = SubscriptionRunner(
        [
            subscribe(store, "healthy", healthy, poll_interval=3600),
            subscribe(store, "failing", failing, retry=RetryPolicy(max_retries=0)),
        ]
    )
    with pytest.raises(HandlerError):
        await asyncio.wait_for(runner.run(), GUARD_S)
    assert [s.state for s in runner.subscriptions] == [
        SubscriptionState.STOPPED,
        SubscriptionState.FAILED,
    ]


async def test_two_subscriptions_with_one_id_are_refused_by_the_runner(
    store: EventStore,
) -> None:
    with pytest.raises(SubscriptionError):
        SubscriptionRunner([subscribe(store, "same", Gate()), subscribe(store, "same", Gate())])


async def test_start_live_and_stop_are_logged_with_the_subscription_id(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 1)
    gate = Gate()
    gate.release.set()
    subscription: Subscription = subscribe(store, "projection", gate)
    with capture_logs() as logs:
        async with subscription:
            await until(lambda: subscription.state is SubscriptionState.LIVE)
    lines = [
        line["event"]
        for line in logs
        if line.get("subscription_id") == "projection" and line["log_level"] == "info"
    ]
    leased = ["subscription took its lease; delivering"] if store.supports_leases else []
    assert lines == [*leased, "subscription started", "subscription live", "subscription stopped"]


async def test_the_start_position_reads_from_the_first_event_and_is_a_valid_checkpoint(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 2)
    await store.save_checkpoint("projection", store.start_position)
    checkpoint = await store.load_checkpoint("projection")
    assert checkpoint == store.start_position
    assert [event.version async for event in store.read_all(from_position=checkpoint)] == [1, 2]


async def test_a_reset_survives_a_restart_of_a_start_now_subscription(backend: Backend) -> None:
    seen: list[int] = []

    async def handler(event: RecordedEvent) -> None:
        seen.append(event.version)

    async with backend.open() as store:
        await append(store, "Account-1", 2)
        await subscribe(store, "projection", handler, start="now").reset()
    async with backend.open() as store, subscribe(store, "projection", handler, start="now"):
        await until(lambda: seen == [1, 2])


async def test_stop_timeout_cancels_a_busy_handler_when_run_is_awaited_directly(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 1)
    gate = Gate()  # never released: the handler stays busy
    cancelled = asyncio.Event()

    async def busy(event: RecordedEvent) -> None:
        try:
            await gate(event)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    subscription = subscribe(store, "projection", busy)
    running = asyncio.create_task(subscription.run())
    await asyncio.wait_for(gate.entered.wait(), GUARD_S)
    await asyncio.wait_for(subscription.stop(timeout=0.01), GUARD_S)
    await asyncio.wait_for(running, GUARD_S)
    assert cancelled.is_set()
    assert subscription.state is SubscriptionState.STOPPED
    assert await store.load_checkpoint("projection") is None


async def test_a_runner_whose_start_fails_stops_the_subscriptions_it_started(
    store: EventStore,
) -> None:
    first, already_running = Gate(), Gate()
    first.release.set()
    already = subscribe(store, "two", already_running)
    runner = SubscriptionRunner([subscribe(store, "one", first), already])
    async with already:
        with pytest.raises(SubscriptionError):
            await runner.start()
        assert runner.subscriptions[0].state is SubscriptionState.STOPPED


async def test_the_runner_stops_on_a_signal(store: EventStore) -> None:
    gate = Gate()
    gate.release.set()
    runner = SubscriptionRunner([subscribe(store, "one", gate)])
    runner.stop_on_signals([signal.SIGUSR1])
    try:
        await runner.start()
        os.kill(os.getpid(), signal.SIGUSR1)
        await asyncio.wait_for(runner.wait(), GUARD_S)
    finally:
        asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)
    assert runner.subscriptions[0].state is SubscriptionState.STOPPED
