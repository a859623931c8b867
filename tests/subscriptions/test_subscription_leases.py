"""Leases: one active runner per subscription, standbys that take over in a bounded time.

The takeover test SIGKILLs the active runner's process (SQLite and
PostgreSQL: a memory store lives in one process) and measures how long the
standby takes; the paused-runner test shows that fencing, not the lease,
keeps a runner whose lease expired under it from committing a batch twice.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import structlog
from subscription_support import GUARD_S, Backend, ReadModel, append, until

from eventsourcing_kit import EventStore, RecordedEvent, subscribe
from eventsourcing_kit.subscriptions import HandlerContext, LeasePolicy, SubscriptionState

WORKER = Path(__file__).with_name("lease_worker.py")
FAST = LeasePolicy(ttl=1.0)
DELIVERING = (SubscriptionState.CATCHING_UP, SubscriptionState.LIVE)

logger = structlog.get_logger(__name__)


async def nothing(event: RecordedEvent) -> None:
    pass


@pytest.fixture(autouse=True)
def keeps_leases(store: EventStore) -> None:
    """These tests need a backend that keeps leases (every backend of the kit does)."""
    if not store.supports_leases:
        pytest.skip("this backend keeps no leases (EventStore.supports_leases)")


async def test_a_second_runner_of_a_subscription_stands_by(
    backend: Backend, store: EventStore
) -> None:
    await append(store, "Account-1", 3)
    seen: list[str] = []

    async def first(event: RecordedEvent) -> None:
        seen.append("first")

    async def second(event: RecordedEvent) -> None:
        seen.append("second")

    async with backend.open() as other:
        active = subscribe(store, "projection", first, lease=FAST)
        standby = subscribe(other, "projection", second, lease=FAST)
        async with active:
            await until(lambda: active.state is SubscriptionState.LIVE)
            async with standby:
                await until(lambda: standby.state is SubscriptionState.STANDBY)
                await append(store, "Account-1", 2)
                await until(lambda: len(seen) == 5)
    assert seen == ["first"] * 5


async def test_a_standby_takes_over_at_once_when_the_active_runner_stops(
    backend: Backend, store: EventStore
) -> None:
    await append(store, "Account-1", 2)
    async with backend.open() as other:
        active = subscribe(store, "projection", nothing, lease=LeasePolicy(ttl=30.0))
        standby = subscribe(
            other, "projection", nothing, lease=LeasePolicy(ttl=30.0, standby_poll=0.05)
        )
        await active.start()
        await until(lambda: active.state is SubscriptionState.LIVE)
        await standby.start()
        await until(lambda: standby.state is SubscriptionState.STANDBY)
        await active.stop()  # gives the lease up: no need to wait for its 30 s
        await until(lambda: standby.state is SubscriptionState.LIVE)
        await standby.stop()


async def test_a_standby_takes_over_within_the_bound_after_the_active_runner_is_killed(
    backend: Backend, store: EventStore
) -> None:
    if backend.name == "memory":
        pytest.skip("a memory store cannot be shared with another process")
    await append(store, "Account-1", 2)
    process = subprocess.Popen(  # noqa: ASYNC220 - starting it does not block
        [sys.executable, str(WORKER), backend.url, backend.options.get("schema", ""), "1.0"],
        stdout=subprocess.PIPE,
        env=backend.environment,
    )
    assert process.stdout is not None
    standby = subscribe(store, "leased", nothing, lease=FAST)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), GUARD_S)
        assert line.decode().strip() == "active"
        await standby.start()
        await until(lambda: standby.state is SubscriptionState.STANDBY)
        process.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        await until(lambda: standby.state in DELIVERING)
        took = time.monotonic() - killed
    finally:
        await standby.stop()
        if process.poll() is None:
            process.kill()
        await asyncio.to_thread(process.wait, GUARD_S)
        process.stdout.close()
    logger.info("standby took over", backend=backend.name, seconds=round(took, 3))
    # The bound counts from the dead runner's last renewal, at most
    # renew_every before the kill; a little slack for a loaded machine.
    assert took <= FAST.takeover_bound + 0.5, took


async def test_a_runner_paused_past_its_lease_commits_nothing_twice(
    backend: Backend, store: EventStore, read_model: ReadModel, monkeypatch: Any
) -> None:
    if backend.name != "postgres":
        pytest.skip(
            "SQLite: a runner paused inside its transaction holds the file's write lock, "
            "so no standby can take over before it resumes"
        )
    await append(store, "Account-1", 6)
    events = [str(event.event_id) async for event in store.read_all()]
    entered = asyncio.Event()
    resume = asyncio.Event()

    async def paused(event: RecordedEvent, context: HandlerContext) -> None:
        await read_model.record(context, event.event_id)
        entered.set()
        await resume.wait()

    async def record(event: RecordedEvent, context: HandlerContext) -> None:
        await read_model.record(context, event.event_id)

    async with backend.open() as other:
        first = subscribe(other, "projection", paused, transactional=True, batch_size=3, lease=FAST)
        await first.start()
        await asyncio.wait_for(entered.wait(), GUARD_S)
        # The process is paused: its lease renewals hang until it expires.
        hang = asyncio.Event()

        async def stuck(*args: Any, **kwargs: Any) -> Any:
            await hang.wait()

        monkeypatch.setattr(other, "acquire_lease", stuck)
        second = subscribe(store, "projection", record, transactional=True, lease=FAST)
        await second.start()
        await until(lambda: second.state is SubscriptionState.LIVE)
        monkeypatch.undo()
        resume.set()  # it wakes up and tries to commit its batch: fenced
        await until(lambda: first.state is SubscriptionState.STANDBY)
        await first.stop()
        await second.stop()
    assert Counter(await read_model.rows()) == Counter(events)
