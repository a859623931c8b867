"""Failure policy: retry with backoff, then stop (default) or park; replay parked events."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest
from structlog.testing import capture_logs
from subscription_support import NO_WAIT, ReadModel, append, until

from eventsourcing_kit import EventStore, RecordedEvent, connect, subscribe
from eventsourcing_kit.errors import HandlerError
from eventsourcing_kit.subscriptions import HandlerContext, RetryPolicy, SubscriptionState


class Boom(Exception):
    pass


class Flaky:
    """Fails on the events of `poison` versions, `failures` times each (forever: -1)."""

    def __init__(self, poison: set[int], failures: int = -1) -> None:
        self.poison = poison
        self.failures = failures
        self.calls: list[int] = []
        self.handled: list[int] = []

    async def __call__(self, event: RecordedEvent) -> None:
        self.calls.append(event.version)
        if event.version in self.poison and self.calls.count(event.version) != self.failures + 1:
            raise Boom(f"cannot handle version {event.version}")
        self.handled.append(event.version)


async def test_a_handler_that_fails_then_recovers_is_retried(store: EventStore) -> None:
    await append(store, "Account-1", 3)
    handler = Flaky({2}, failures=2)
    async with subscribe(store, "projection", handler, retry=NO_WAIT) as subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    assert handler.calls == [1, 2, 2, 2, 3]
    assert handler.handled == [1, 2, 3]


async def test_a_handler_that_keeps_failing_stops_the_subscription(store: EventStore) -> None:
    await append(store, "Account-1", 3)
    handler = Flaky({2})
    subscription = subscribe(store, "projection", handler, retry=NO_WAIT)
    with pytest.raises(HandlerError) as raised:
        await subscription.run()
    assert raised.value.event.version == 2
    assert handler.calls == [1, 2, 2, 2]  # the first try and max_retries=2 retries
    assert subscription.state is SubscriptionState.FAILED


async def test_a_stopped_subscription_keeps_its_checkpoint_before_the_poison_event(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 3)
    events = [event async for event in store.read_all()]
    with pytest.raises(HandlerError):
        await subscribe(store, "projection", Flaky({2}), retry=NO_WAIT).run()
    assert await store.load_checkpoint("projection") == events[0].position


async def test_stopping_on_a_poison_event_logs_a_clear_error(store: EventStore) -> None:
    await append(store, "Account-1", 1)
    with capture_logs() as logs, pytest.raises(HandlerError):
        await subscribe(store, "projection", Flaky({1}), retry=NO_WAIT).run()
    errors = [line for line in logs if line["log_level"] == "error"]
    assert [line["event"] for line in errors] == ["subscription handler kept failing; stopping"]
    assert errors[0]["subscription_id"] == "projection"
    assert errors[0]["stream_id"] == "Account-1"
    assert "Boom" in errors[0]["error"]


def test_retries_wait_longer_each_time_up_to_the_cap() -> None:
    policy = RetryPolicy(max_retries=5, initial_delay=0.1, multiplier=2, max_delay=0.5)
    assert [policy.delay(n) for n in range(1, 6)] == [0.1, 0.2, 0.4, 0.5, 0.5]


async def test_the_async_with_exit_raises_the_failure(store: EventStore) -> None:
    await append(store, "Account-1", 1)
    with pytest.raises(HandlerError):
        async with subscribe(store, "projection", Flaky({1}), retry=NO_WAIT) as subscription:
            await until(lambda: subscription.state is SubscriptionState.FAILED)


async def test_park_sets_the_poison_event_aside_and_goes_on(store: EventStore) -> None:
    await append(store, "Account-1", 4)
    handler = Flaky({2})
    subscription = subscribe(store, "projection", handler, retry=NO_WAIT, on_error="park")
    async with subscription:
        await until(lambda: handler.handled == [1, 3, 4])
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    parked = await subscription.parked()
    assert [(event.stream_id, event.version) for event in parked] == [("Account-1", 2)]
    assert parked[0].attempts == 3
    assert "Boom" in parked[0].error


async def test_parked_events_are_not_delivered_to_subscriptions(store: EventStore) -> None:
    await append(store, "Account-1", 2)
    parking = subscribe(store, "parking", Flaky({1}), retry=NO_WAIT, on_error="park")
    async with parking:
        await until(lambda: parking.state is SubscriptionState.LIVE)
    seen: list[str] = []

    async def everything(event: RecordedEvent) -> None:
        seen.append(event.stream_id)

    async with subscribe(store, "everything", everything) as subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    assert seen == ["Account-1", "Account-1"]


async def test_replaying_parked_events_hands_them_over_and_clears_them(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 3)
    handler = Flaky({2}, failures=3)  # fails its first try and 2 retries, then works
    subscription = subscribe(store, "projection", handler, retry=NO_WAIT, on_error="park")
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    result = await subscription.replay_parked()
    assert [event.version for event in result.replayed] == [2]
    assert result.failed == ()
    assert handler.handled == [1, 3, 2]
    assert await subscription.parked() == []


async def test_a_parked_event_that_fails_its_replay_stays_parked(store: EventStore) -> None:
    await append(store, "Account-1", 1)
    subscription = subscribe(store, "projection", Flaky({1}), retry=NO_WAIT, on_error="park")
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    result = await subscription.replay_parked()
    assert result.replayed == ()
    assert [event.version for event, _ in result.failed] == [1]
    assert [event.version for event in await subscription.parked()] == [1]


async def test_a_failing_batch_is_retried_event_by_event_and_parks_only_the_poison(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 4)
    handled: list[int] = []

    async def batch_handler(events: Sequence[RecordedEvent]) -> None:
        if any(event.version == 3 for event in events):
            raise Boom("version 3 is poison")
        handled.extend(event.version for event in events)

    subscription = subscribe(
        store, "batches", batch_handler, batched=True, batch_size=4, retry=NO_WAIT, on_error="park"
    )
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    assert handled == [1, 2, 4]
    assert [event.version for event in await subscription.parked()] == [3]


async def test_a_transactional_retry_keeps_only_the_successful_attempts_writes(
    store: EventStore, read_model: ReadModel
) -> None:
    await append(store, "Account-1", 3)
    attempts: list[int] = []

    async def handler(event: RecordedEvent, context: HandlerContext) -> None:
        await read_model.record(context, event.event_id)
        attempts.append(event.version)
        if event.version == 2 and attempts.count(2) < 3:
            raise Boom("after writing the read model")

    subscription = subscribe(store, "projection", handler, transactional=True, retry=NO_WAIT)
    async with subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    events = [str(event.event_id) async for event in store.read_all()]
    assert sorted(await read_model.rows()) == sorted(events)


async def test_a_store_error_at_start_is_retried(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    handled: list[int] = []

    async def handler(event: RecordedEvent) -> None:
        handled.append(event.version)

    async with await connect(f"sqlite:///{path}", busy_timeout=0) as store:
        await append(store, "Account-1", 1)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        subscription = subscribe(store, "projection", handler, start="now", poll_interval=0.01)
        with capture_logs() as logs:
            await subscription.start()
            await until(
                lambda: (
                    subscription.state is SubscriptionState.FAILED
                    or any(line["event"] == "subscription store error; retrying" for line in logs)
                )
            )
        other.execute("COMMIT")
        other.close()
        await until(
            lambda: subscription.state in (SubscriptionState.LIVE, SubscriptionState.FAILED)
        )
        assert subscription.state is SubscriptionState.LIVE
        await append(store, "Account-1", 1)
        await until(lambda: handled == [2])
        await subscription.stop()


async def test_user_streams_of_the_parked_category_are_delivered(store: EventStore) -> None:
    await append(store, "$parked-orders", 1)
    await append(store, "$parked-projection", 1, event_type="$EventParked")
    seen: list[str] = []

    async def everything(event: RecordedEvent) -> None:
        seen.append(event.stream_id)

    async with subscribe(store, "projection", everything, on_error="park") as subscription:
        await until(lambda: subscription.state is SubscriptionState.LIVE)
    assert seen == ["$parked-orders", "$parked-projection"]


async def test_a_user_event_in_a_parked_stream_is_not_listed_as_parked(
    store: EventStore,
) -> None:
    await append(store, "$parked-projection", 1, event_type="$EventParked")
    subscription = subscribe(store, "projection", Flaky(set()), on_error="park")
    assert await subscription.parked() == []


async def test_the_stop_line_after_a_handler_failure_reports_the_stored_checkpoint(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 3)
    subscription = subscribe(store, "projection", Flaky({3}), retry=NO_WAIT)
    with capture_logs() as logs, pytest.raises(HandlerError):
        await subscription.run()
    stored = await store.load_checkpoint("projection")
    _, second, _ = [event async for event in store.read_all()]
    assert stored == second.position  # the events before the failure are handled
    [stopped] = [line for line in logs if line["event"] == "subscription stopped"]
    assert (stopped["state"], stopped["checkpoint"]) == ("failed", stored)
    assert subscription.checkpoint == stored
