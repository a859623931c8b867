"""group_commit=True: queued appends share one transaction, each keeps its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from postgres_support import open_store

from eventsourcing_kit import AppendResult, NewEvent
from eventsourcing_kit.errors import ConcurrencyError, SerializationError
from eventsourcing_kit.stores._postgres import PostgresEventStore

WRITERS = 16


@pytest.fixture
async def grouped(pg_dsn: str, pg_store: PostgresEventStore) -> AsyncIterator[PostgresEventStore]:
    # On pg_store's schema, which is emptied after the test.
    async with open_store(
        pg_dsn, pg_store.schema, max_size=20, visibility_wait=30, group_commit=True
    ) as store:
        yield store


async def test_appends_queued_together_share_one_transaction(
    grouped: PostgresEventStore,
) -> None:
    results = await asyncio.gather(
        *(grouped.append_events(f"Account-{w}", [NewEvent("Opened", {})]) for w in range(WRITERS))
    )
    assert len({result.position[0] for result in results}) < WRITERS


async def test_group_commit_is_the_default(pg_store: PostgresEventStore) -> None:
    # pg_store is opened with the default options.
    results = await asyncio.gather(
        *(pg_store.append_events(f"Account-{w}", [NewEvent("Opened", {})]) for w in range(WRITERS))
    )
    assert len({result.position[0] for result in results}) < WRITERS


async def test_without_group_commit_every_append_is_its_own_transaction(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    async with open_store(pg_dsn, pg_store.schema, max_size=20, group_commit=False) as alone:
        results = await asyncio.gather(
            *(alone.append_events(f"Account-{w}", [NewEvent("Opened", {})]) for w in range(WRITERS))
        )
    assert len({result.position[0] for result in results}) == WRITERS


async def test_lone_appends_leave_nothing_in_flight(grouped: PostgresEventStore) -> None:
    # Each is sent by its caller between hold() and release(); a count left
    # behind would make every later append wait for a group.
    await grouped.append_events("Account-1", [NewEvent("Opened", {})])
    with pytest.raises(ConcurrencyError):
        await grouped.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
    assert grouped._group is not None and grouped._group.idle


async def test_a_conflict_in_a_group_fails_only_its_own_append(
    grouped: PostgresEventStore,
) -> None:
    await grouped.append_events("Account-0", [NewEvent("Opened", {})])
    outcomes = await asyncio.gather(
        *(
            grouped.append_events(f"Account-{w}", [NewEvent("Opened", {})], expected_version=0)
            for w in range(WRITERS)
        ),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], ConcurrencyError)
    assert all(isinstance(outcome, AppendResult) for outcome in outcomes[1:])


async def test_a_retry_in_a_group_returns_the_original_result(
    grouped: PostgresEventStore,
) -> None:
    events = [NewEvent("Opened", {"n": n}) for n in range(2)]
    first = await grouped.append_events("Account-0", events)
    outcomes = await asyncio.gather(
        grouped.append_events("Account-0", events),
        *(grouped.append_events(f"Account-{w}", [NewEvent("Opened", {})]) for w in range(1, 4)),
    )
    assert outcomes[0] == first


async def test_an_append_the_server_refuses_fails_alone_in_its_group(
    grouped: PostgresEventStore,
) -> None:
    outcomes = await asyncio.gather(
        grouped.append_events("Account-0", [NewEvent("Opened", {"name": "\u0000"})]),
        *(grouped.append_events(f"Account-{w}", [NewEvent("Opened", {})]) for w in range(1, 4)),
        return_exceptions=True,
    )
    assert isinstance(outcomes[0], SerializationError)
    assert all(isinstance(outcome, AppendResult) for outcome in outcomes[1:])


async def test_readers_following_read_all_see_every_grouped_event_once(
    grouped: PostgresEventStore,
) -> None:
    committed: list[UUID] = []
    done = asyncio.Event()

    async def write(writer: int) -> None:
        for version in range(20):
            event = NewEvent("Wrote", {"writer": writer, "n": version})
            await grouped.append_events(f"Writer-{writer}", [event], expected_version=version)
            committed.append(event.event_id)

    async def follow() -> list[UUID]:
        seen: list[UUID] = []
        checkpoint = None
        while True:
            finished = done.is_set()
            async for event in grouped.read_all(from_position=checkpoint, batch_size=50):
                seen.append(event.event_id)
                checkpoint = event.position
            if finished:
                return seen
            await asyncio.sleep(0.002)

    readers = [asyncio.create_task(follow()) for _ in range(2)]
    await asyncio.gather(*(write(w) for w in range(WRITERS)))
    done.set()
    for seen in await asyncio.gather(*readers):
        assert len(seen) == len(set(seen)) and set(seen) == set(committed)
