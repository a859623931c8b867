"""Self-balancing consumer groups: members join and leave, partitions move by themselves.

Each member has a store object of its own (another connection, as another
process would). Transactional runs write (stream, version) rows in commit
order, so the read model shows both exactly-once and per-stream order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from subscription_support import Backend, ReadModel, until

from eventsourcing_kit import EventStore, NewEvent, RecordedEvent
from eventsourcing_kit.subscriptions import (
    BalancingMember,
    HandlerContext,
    LeasePolicy,
    join_group,
)

FAST = LeasePolicy(ttl=1.0)
PARTITIONS = 6


async def nothing(event: RecordedEvent) -> None:
    pass


@contextlib.asynccontextmanager
async def running(member: BalancingMember) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(member.run())
    try:
        yield task
    finally:
        await member.stop()
        await asyncio.wait_for(task, 30)


@pytest.fixture(autouse=True)
def keeps_leases(store: EventStore) -> None:
    """These tests need a backend that keeps leases (every backend of the kit does)."""
    if not store.supports_leases:
        pytest.skip("this backend keeps no leases (EventStore.supports_leases)")


async def test_members_of_a_group_share_its_partitions_evenly(
    backend: Backend, store: EventStore
) -> None:
    async with backend.open() as second_store, backend.open() as third_store:
        members = [
            join_group(s, "group", nothing, partitions=PARTITIONS, lease=FAST)
            for s in (store, second_store, third_store)
        ]
        async with running(members[0]), running(members[1]), running(members[2]):
            await until(lambda: [len(m.delivering()) for m in members] == [2, 2, 2])
            owned = sorted(n for m in members for n in m.delivering())
    assert owned == list(range(PARTITIONS))


async def test_the_partitions_of_a_member_that_leaves_move_to_the_others(
    backend: Backend, store: EventStore
) -> None:
    async with backend.open() as second_store:
        first = join_group(store, "group", nothing, partitions=PARTITIONS, lease=FAST)
        second = join_group(second_store, "group", nothing, partitions=PARTITIONS, lease=FAST)
        async with running(first):
            async with running(second):
                await until(lambda: [len(first.delivering()), len(second.delivering())] == [3, 3])
            await until(lambda: len(first.delivering()) == PARTITIONS)


async def test_each_event_is_committed_once_in_stream_order_while_members_join_and_leave(
    backend: Backend, store: EventStore, read_model: ReadModel
) -> None:
    table = read_model.name

    async def record(event: RecordedEvent, context: HandlerContext) -> None:
        # When it was handled: every member runs in this process, so the
        # monotonic clock orders the handling across members.
        await read_model.record(context, f"{time.monotonic_ns()}/{event.stream_id}/{event.version}")

    async def write(count: int) -> None:
        for n in range(count):
            await store.append_events(f"Account-{n % 12}", [NewEvent("Deposited", {"n": n})])
            await asyncio.sleep(0)

    options: dict[str, Any] = {"transactional": True, "batch_size": 5, "lease": FAST}
    async with backend.open() as second_store, backend.open() as third_store:
        first = join_group(store, "group", record, partitions=PARTITIONS, **options)
        second = join_group(second_store, "group", record, partitions=PARTITIONS, **options)
        third = join_group(third_store, "group", record, partitions=PARTITIONS, **options)
        async with running(first):
            writing = asyncio.create_task(write(240))
            async with running(second):
                await until(lambda: len(second.delivering()) == 3)
                async with running(third):
                    await until(lambda: len(third.delivering()) == 2)
            await writing
            head = await store.head_position()
            await until(lambda: len(first.delivering()) == PARTITIONS)

            async def caught_up() -> bool:
                statuses = [
                    await store.load_checkpoint(f"group:{n}/{PARTITIONS}")
                    for n in range(PARTITIONS)
                ]
                return all(s is not None for s in statuses) and len(await read_model.rows()) >= 240

            while not await caught_up():  # noqa: ASYNC110 - polls the database
                await asyncio.sleep(0.05)
            assert head is not None
    handled = sorted(
        (int(at), stream, version)
        for at, stream, version in (row.split("/") for row in await read_model.rows())
    )
    assert table
    expected = [f"{e.stream_id}/{e.version}" async for e in store.read_all()]
    assert Counter(f"{stream}/{version}" for _, stream, version in handled) == Counter(expected)
    for name in {stream for _, stream, _ in handled}:
        versions = [int(version) for _, stream, version in handled if stream == name]
        assert versions == sorted(versions), name
