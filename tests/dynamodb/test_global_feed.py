"""The global feed on DynamoDB: concurrent writers, a live follower, an indexer that dies."""

from __future__ import annotations

import asyncio
import os
import shutil
import sysconfig
from collections import defaultdict

from eventsourcing_kit import EventStore, ExpectedVersion, NewEvent, RecordedEvent
from eventsourcing_kit.stores import Position
from eventsourcing_kit.testing import StoreFactory

WRITERS = 16
APPENDS = 6
CLI = shutil.which("eventsourcing-kit", path=sysconfig.get_path("scripts")) or "eventsourcing-kit"
# DynamoDB Local takes any credentials; botocore insists on some.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


async def write(store: EventStore, writer: int, appends: int) -> int:
    """Appends to the writer's own stream (exact versions) and to a shared one (ANY)."""
    written = 0
    for n in range(appends):
        await store.append_events(
            f"Account-{writer}",
            [NewEvent("Deposited", {"w": writer, "n": n}), NewEvent("Noted", {"w": writer})],
            expected_version=2 * n,
        )
        await store.append_events(
            "Ledger-1",
            [NewEvent("Posted", {"w": writer, "n": n})],
            expected_version=ExpectedVersion.ANY,
        )
        written += 3
    return written


async def follow(store: EventStore, total: int) -> list[RecordedEvent]:
    """Reads the global order as a subscription does, resuming after the last position."""
    seen: list[RecordedEvent] = []
    position: Position | None = None
    while len(seen) < total:
        async for event in store.read_all(from_position=position, batch_size=7):
            seen.append(event)
            position = event.position
        await store.wait_for_events(timeout=0.5)
    return seen


def assert_every_event_once_in_stream_order(seen: list[RecordedEvent], total: int) -> None:
    assert len({event.event_id for event in seen}) == len(seen) == total
    assert [event.global_position for event in seen] == list(range(1, total + 1))
    versions: dict[str, list[int]] = defaultdict(list)
    for event in seen:
        versions[event.stream_id].append(event.version)
    for stream_id, found in versions.items():
        assert found == list(range(1, len(found) + 1)), stream_id


async def test_sixteen_writers_and_a_follower_see_every_event_once_in_stream_order(
    store_factory: StoreFactory,
) -> None:
    first = await store_factory.open("dynamodb")
    handles = [first, *[await store_factory.reopen(first) for _ in range(3)]]
    total = WRITERS * APPENDS * 3
    async with asyncio.timeout(240):
        follower = asyncio.create_task(follow(handles[1], total))
        written = await asyncio.gather(
            *(write(handles[w % len(handles)], w, APPENDS) for w in range(WRITERS))
        )
        seen = await follower
    assert sum(written) == total
    assert_every_event_once_in_stream_order(seen, total)
    assert seen == [event async for event in first.read_all()]


async def test_an_indexer_killed_mid_stream_is_replaced_and_nothing_is_lost_or_repeated(
    store_factory: StoreFactory,
) -> None:
    writer = await store_factory.open("dynamodb", indexer=False)
    url = store_factory.url(writer)
    # The active indexer is a process of its own (the command line's), so
    # that it can be SIGKILLed: its lease is not handed over and whatever it
    # was committing may or may not have landed; a replacement must wait the
    # lease out and resume from the indexer's committed state.
    doomed = await asyncio.create_subprocess_exec(
        CLI,
        "index",
        "--url",
        url,
        "--lease-ttl",
        "1.0",
        env={**os.environ, **LOCAL_CREDENTIALS},
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        writers = [asyncio.create_task(write(writer, w, APPENDS)) for w in range(4)]
        while await writer.head_position() is None:
            await writer.wait_for_events(timeout=0.05)
    finally:
        doomed.kill()
        await doomed.wait()
    replacement = await store_factory.reopen(writer, indexer=True, lease_ttl=1.0)
    async with asyncio.timeout(240):
        written = sum(await asyncio.gather(*writers))
    seen = [event async for event in replacement.read_all()]
    assert_every_event_once_in_stream_order(seen, written)


async def test_appends_wait_for_a_standby_indexer_when_none_is_active(
    store_factory: StoreFactory,
) -> None:
    writer = await store_factory.open("dynamodb", indexer=False)
    pending = asyncio.create_task(writer.append_events("Account-1", [NewEvent("Opened", {})]))
    await asyncio.sleep(0.3)
    assert not pending.done()
    indexer = await store_factory.reopen(writer, indexer=True)
    result = await asyncio.wait_for(pending, 30)
    assert result.global_position == 1
    assert [e.event_type async for e in indexer.read_all()] == ["Opened"]
