"""Consumer groups: a stable split by stream, per-stream order, rescaling."""

from __future__ import annotations

import zlib
from collections import defaultdict

import pytest
from subscription_support import append, until

from eventsourcing_kit import EventStore, RecordedEvent
from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.subscriptions import (
    GroupMember,
    Subscription,
    SubscriptionState,
    consumer_group,
    group_member,
    member_for,
    rescale_consumer_group,
)

STREAMS = [f"Account-{number}" for number in range(12)]


def test_the_split_is_crc32_of_the_stream_id_so_every_process_agrees() -> None:
    # Python's hash() of a str changes per process; the split must not.
    assert member_for("Account-7", 3) == zlib.crc32(b"Account-7") % 3
    assert [member_for(stream, 4) for stream in STREAMS[:6]] == [
        zlib.crc32(stream.encode()) % 4 for stream in STREAMS[:6]
    ]


def test_each_member_has_its_own_checkpoint_id() -> None:
    assert GroupMember("billing", 1, 3).subscription_id == "billing:1/3"


def test_a_member_outside_the_group_is_rejected() -> None:
    with pytest.raises(ConfigurationError):
        GroupMember("billing", 3, 3)


async def test_members_split_the_streams_and_keep_each_streams_order(store: EventStore) -> None:
    for round_ in range(3):
        for stream in STREAMS:
            await append(store, stream, 1 + round_ % 2)
    seen: defaultdict[int, list[RecordedEvent]] = defaultdict(list)

    def handler_for(member: int):  # type: ignore[no-untyped-def]
        async def handler(event: RecordedEvent) -> None:
            seen[member].append(event)

        return handler

    members = [
        group_member(store, "billing", handler_for(member), member=member, size=3)
        for member in range(3)
    ]
    for subscription in members:
        await subscription.start()
    await until(lambda: all(s.state is SubscriptionState.LIVE for s in members))
    for subscription in members:
        await subscription.stop()

    total = sum(len(events) for events in seen.values())
    assert total == len([event async for event in store.read_all()])
    owners: dict[str, set[int]] = defaultdict(set)
    for member, events in seen.items():
        for event in events:
            owners[event.stream_id].add(member)
            assert member_for(event.stream_id, 3) == member
    assert all(len(members_of) == 1 for members_of in owners.values())
    for events in seen.values():
        by_stream: defaultdict[str, list[int]] = defaultdict(list)
        for event in events:
            by_stream[event.stream_id].append(event.version)
        assert all(v == list(range(1, len(v) + 1)) for v in by_stream.values())


async def test_rescaling_starts_the_new_members_from_the_oldest_old_checkpoint(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 3)
    positions = [event.position async for event in store.read_all()]
    await store.save_checkpoint("billing:0/2", positions[2])
    await store.save_checkpoint("billing:1/2", positions[0])
    start = await rescale_consumer_group(store, "billing", old_size=2, new_size=3)
    assert start == positions[0]
    assert [await store.load_checkpoint(f"billing:{m}/3") for m in range(3)] == [positions[0]] * 3


async def test_rescaling_a_group_with_a_member_that_never_ran_starts_from_the_beginning(
    store: EventStore,
) -> None:
    await append(store, "Account-1", 2)
    positions = [event.position async for event in store.read_all()]
    await store.save_checkpoint("billing:0/2", positions[1])
    await store.save_checkpoint("billing:0/3", positions[1])  # a stale one from long ago
    assert await rescale_consumer_group(store, "billing", old_size=2, new_size=3) is None
    assert [await store.load_checkpoint(f"billing:{m}/3") for m in range(3)] == [None] * 3


async def test_after_rescaling_no_event_is_lost(store: EventStore) -> None:
    handled: set[tuple[str, int]] = set()

    async def handler(event: RecordedEvent) -> None:
        handled.add((event.stream_id, event.version))

    async def run_until_live(*members: Subscription) -> None:
        for subscription in members:
            await subscription.start()
        await until(lambda: all(s.state is SubscriptionState.LIVE for s in members))
        for subscription in members:
            await subscription.stop()

    for stream in STREAMS:
        await append(store, stream, 1)
    old = consumer_group(store, "billing", handler, size=2, batch_size=5)
    await run_until_live(*old)
    for stream in STREAMS:
        await append(store, stream, 1)
    await run_until_live(old[0])  # member 1 is down: its streams' second events wait
    handled.clear()
    await rescale_consumer_group(store, "billing", old_size=2, new_size=3)
    await run_until_live(*consumer_group(store, "billing", handler, size=3, batch_size=5))
    assert {(stream, 2) for stream in STREAMS if member_for(stream, 2) == 1} <= handled


async def test_a_member_whose_streams_have_no_events_still_moves_its_checkpoint_to_the_head(
    store: EventStore,
) -> None:
    # Every event is in member 1's streams: member 0 reads none of them
    # where the store filters by partition, and must not stay at the start
    # (each of its reads would scan the others' events again).
    if not store.capabilities.partition_filter:
        pytest.skip("no partition filter: the member reads every event and moves past them")
    others = [stream for stream in STREAMS if member_for(stream, 2) == 1]
    for stream in others[:3]:
        await append(store, stream, 2)
    head = await store.head_position()
    seen: list[RecordedEvent] = []

    async def record(event: RecordedEvent) -> None:
        seen.append(event)

    member = group_member(store, "billing", record, member=0, size=2, poll_interval=0.05)
    async with member:
        await until(lambda: member.state is SubscriptionState.LIVE and member.checkpoint == head)
    assert seen == []
    assert await store.load_checkpoint("billing:0/2") == head
