"""Fenced checkpoints: a runner never moves a checkpoint it did not read.

Nor does it hand a batch over twice after a lost reply.

Each test fails when its guarantee is removed: without the conditional
checkpoint write, two runners both commit a batch (and a slow one takes the
checkpoint back); without the reload after a store error, a batch whose
COMMIT reply was lost is handed to the handler again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from subscription_support import Backend, ReadModel, append, until

from eventsourcing_kit import EventStore, RecordedEvent, subscribe
from eventsourcing_kit.errors import StoreUnavailableError
from eventsourcing_kit.stores.driver import DriverTransaction
from eventsourcing_kit.stores.memory import MemoryDriver
from eventsourcing_kit.subscriptions import HandlerContext, SubscriptionState


async def test_two_runners_of_one_transactional_subscription_commit_each_event_once(
    backend: Backend, store: EventStore, read_model: ReadModel
) -> None:
    await append(store, "Account-1", 40)
    events = [str(event.event_id) async for event in store.read_all()]

    async def record(event: RecordedEvent, context: HandlerContext) -> None:
        await read_model.record(context, event.event_id)
        await asyncio.sleep(0)  # let the other runner interleave

    async with backend.open() as other:
        # Without leases, so that both deliver at once: fencing alone must hold.
        runners = [
            subscribe(s, "projection", record, transactional=True, batch_size=4, lease=False)
            for s in (store, other)
        ]
        for runner in runners:
            await runner.start()
        last = (await store.head_position(),)
        await until(lambda: all(r.checkpoint in last for r in runners))
        for runner in runners:
            await runner.stop()
    assert Counter(await read_model.rows()) == Counter(events)


async def overtaken_while_handling(store: EventStore, *, checkpoint_interval: float) -> list[int]:
    """The versions a runner handles when another one stores a later checkpoint
    (event 5's) while it handles its first event; it stops at the last event."""
    await append(store, "Account-1", 6)
    positions = [event.position async for event in store.read_all()]
    entered = asyncio.Event()
    release = asyncio.Event()
    calls: list[int] = []

    async def slow(event: RecordedEvent) -> None:
        calls.append(event.version)
        entered.set()
        await release.wait()

    # Not transactional: on memory and SQLite an open checkpoint transaction
    # holds the write lock, so the other runner could not commit meanwhile.
    subscription = subscribe(
        store, "projection", slow, batch_size=2, checkpoint_interval=checkpoint_interval
    )
    await subscription.start()
    await asyncio.wait_for(entered.wait(), 20)
    # Another runner got further meanwhile (here: its checkpoint, stored directly).
    await asyncio.wait_for(store.save_checkpoint("projection", positions[4]), 20)
    release.set()
    await until(lambda: subscription.checkpoint == positions[5])
    await subscription.stop()
    assert await store.load_checkpoint("projection") == positions[5]
    return calls


async def test_a_runner_behind_another_does_not_take_the_checkpoint_back(
    store: EventStore,
) -> None:
    # checkpoint_interval=0: every batch stores its checkpoint, so the fence
    # shows at the first batch.
    calls = await overtaken_while_handling(store, checkpoint_interval=0)
    # Its batch (1, 2) was fenced; it went on after the other runner's 5.
    assert calls == [1, 2, 6]


async def test_a_runner_catching_up_between_checkpoints_does_not_take_the_checkpoint_back(
    store: EventStore,
) -> None:
    """While catching up it stores its checkpoint only now and then: the fence
    shows at the next store, and what it handled meanwhile counts for nothing."""
    calls = await overtaken_while_handling(store, checkpoint_interval=60)
    # Its batches up to the live boundary were not stored; that store was
    # fenced, and it went on after the other runner's 5 (handing 6 over twice).
    assert calls == [1, 2, 3, 4, 5, 6, 6]


class LosesCommitReplies(MemoryDriver):
    """A memory driver whose first `losses` checkpoint transactions commit, then fail.

    As a connection lost after the server committed does: the COMMIT took
    effect, the client got an error instead of its reply.
    """

    def __init__(self, losses: int) -> None:
        super().__init__()
        self.losses = losses

    def transaction(self, subscription_id: str) -> Any:
        return self._losing(super().transaction(subscription_id))

    @asynccontextmanager
    async def _losing(self, inner: Any) -> AsyncIterator[DriverTransaction]:
        async with inner as handle:
            yield handle
        if self.losses > 0:
            self.losses -= 1
            raise StoreUnavailableError("the connection closed before the COMMIT's reply")


async def test_a_batch_whose_commit_reply_was_lost_is_not_handed_over_again() -> None:
    async with EventStore(LosesCommitReplies(losses=2)) as store:
        await append(store, "Account-1", 9)
        calls: list[int] = []

        async def count(event: RecordedEvent, context: HandlerContext) -> None:
            calls.append(event.version)

        subscription = subscribe(
            store, "projection", count, transactional=True, batch_size=3, poll_interval=0.01
        )
        async with subscription:
            await until(lambda: subscription.state is SubscriptionState.LIVE)
        assert calls == list(range(1, 10))
