"""group_commit=True: queued appends share one transaction, each keeps its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import UUID

import pytest
from postgres_support import WatchedPool, group_statements, open_store, watched_pool

from eventsourcing_kit import AppendResult, ExpectedVersion, NewEvent
from eventsourcing_kit.errors import ConcurrencyError, DuplicateEventError
from eventsourcing_kit.stores.postgres import PostgresEventStore

WRITERS = 16
# The SQL functions an append may call (store/postgres/0010): a group of
# exact versions calls none of them.
FUNCTIONS = ("append_group", "append_events", "append_event")


@pytest.fixture
async def grouped(pg_dsn: str, pg_store: PostgresEventStore) -> AsyncIterator[PostgresEventStore]:
    # On pg_store's schema, which is emptied after the test.
    async with open_store(
        pg_dsn, pg_store.schema, max_size=20, visibility_wait=30, group_commit=True
    ) as store:
        yield store


@pytest.fixture
async def watched(pg_dsn: str) -> AsyncIterator[WatchedPool]:
    """A pool of the test's own that notes the statements sent over it."""
    async with watched_pool(pg_dsn, max_size=20) as watched:
        yield watched


@pytest.fixture
async def grouped_watched(
    pg_store: PostgresEventStore, watched: WatchedPool
) -> AsyncIterator[PostgresEventStore]:
    """Like `grouped`, on the `watched` pool."""
    store = await PostgresEventStore.from_pool(
        watched.pool, schema=pg_store.schema, migrate=False, visibility_wait=30
    )
    yield store
    await store.close()


async def sent_by_its_caller(store: PostgresEventStore, watched: WatchedPool) -> bool:
    """Whether a lone append is sent by the task that calls it, as when none
    of the store's appends is in flight (docs/postgres.md, "Group commit"),
    rather than queued for a group."""
    event = NewEvent("Opened", {})
    await store.append_events(f"Alone-{event.event_id}", [event])
    [statement] = [sent for sent in watched.sent if sent.carries(event.event_id)]
    return statement.task is asyncio.current_task()


async def test_appends_queued_together_share_one_transaction(
    grouped: PostgresEventStore,
) -> None:
    results = await asyncio.gather(
        *(grouped.append_events(f"Account-{w}", [NewEvent("Opened", {})]) for w in range(WRITERS))
    )
    assert len({result.position.parts[0] for result in results}) < WRITERS


async def test_group_commit_is_the_default(pg_store: PostgresEventStore) -> None:
    # pg_store is opened with the default options.
    results = await asyncio.gather(
        *(pg_store.append_events(f"Account-{w}", [NewEvent("Opened", {})]) for w in range(WRITERS))
    )
    assert len({result.position.parts[0] for result in results}) < WRITERS


async def test_without_group_commit_every_append_is_its_own_transaction(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    async with open_store(pg_dsn, pg_store.schema, max_size=20, group_commit=False) as alone:
        results = await asyncio.gather(
            *(alone.append_events(f"Account-{w}", [NewEvent("Opened", {})]) for w in range(WRITERS))
        )
    assert len({result.position.parts[0] for result in results}) == WRITERS


async def test_lone_appends_leave_nothing_in_flight(
    grouped_watched: PostgresEventStore, watched: WatchedPool
) -> None:
    # Each is sent by its caller while counted in flight; a count left
    # behind would queue every later append for a group.
    await grouped_watched.append_events("Account-1", [NewEvent("Opened", {})])
    with pytest.raises(ConcurrencyError):
        await grouped_watched.append_events(
            "Account-1", [NewEvent("Opened", {})], expected_version=0
        )
    assert await sent_by_its_caller(grouped_watched, watched)


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


async def test_a_group_of_exact_versions_goes_as_one_statement(
    grouped_watched: PostgresEventStore, watched: WatchedPool
) -> None:
    # Streams at version 2, new streams, and one whose row an append that
    # wrote nothing left at version 0; one event or three each.
    grouped = grouped_watched
    for w in range(0, WRITERS, 2):
        await grouped.append_events(f"Account-{w}", [NewEvent("Opened", {}), NewEvent("Paid", {})])
    with pytest.raises(ConcurrencyError):
        await grouped.append_events(
            "Account-1", [NewEvent("Paid", {})], expected_version=ExpectedVersion.STREAM_EXISTS
        )

    def events(w: int) -> list[NewEvent]:
        return [NewEvent("Paid", {"writer": w, "n": n}) for n in range(1 + 2 * (w % 3 == 0))]

    batches = [events(w) for w in range(WRITERS)]
    results = await asyncio.gather(
        *(
            grouped.append_events(f"Account-{w}", batches[w], expected_version=2 * (w % 2 == 0))
            for w in range(WRITERS)
        )
    )
    groups = group_statements(watched.sent, batches)
    assert groups
    assert not any(group.calls(function) for group in groups for function in FUNCTIONS)
    for w, result in enumerate(results):
        first = 2 * (w % 2 == 0) + 1
        assert result.version == first + len(batches[w]) - 1
        stored = [e async for e in grouped.read_stream(f"Account-{w}", from_version=first)]
        assert [e.data for e in stored] == [e.data for e in batches[w]]
        assert stored[-1].position == result.position


async def test_a_group_naming_any_version_or_a_stream_twice_goes_through_the_function(
    grouped_watched: PostgresEventStore, watched: WatchedPool
) -> None:
    batches = [[NewEvent("Opened", {})] for _ in range(WRITERS)]
    results = await asyncio.gather(
        *(grouped_watched.append_events(f"Account-{w % 4}", batches[w]) for w in range(WRITERS))
    )
    groups = group_statements(watched.sent, batches)
    assert groups
    assert all(group.calls("append_group") for group in groups)
    assert sorted(result.version for result in results) == sorted(
        v for _ in range(4) for v in range(1, WRITERS // 4 + 1)
    )


async def test_a_conflict_in_an_exact_group_reports_the_streams_version(
    grouped: PostgresEventStore,
) -> None:
    # The first append is sent alone; the last one queues behind it.
    stale = WRITERS - 1
    await grouped.append_events(f"Account-{stale}", [NewEvent("Opened", {}) for _ in range(3)])
    outcomes = await asyncio.gather(
        *(
            grouped.append_events(
                f"Account-{w}", [NewEvent("Paid", {})], expected_version=1 if w == stale else 0
            )
            for w in range(WRITERS)
        ),
        return_exceptions=True,
    )
    conflict = outcomes[stale]
    assert isinstance(conflict, ConcurrencyError)
    assert (conflict.expected, conflict.actual) == (1, 3)
    assert all(isinstance(outcome, AppendResult) for outcome in outcomes[:stale])


async def test_a_caller_cancelled_while_queued_leaves_the_rest_of_its_group_alone(
    grouped_watched: PostgresEventStore, watched: WatchedPool
) -> None:
    grouped = grouped_watched
    tasks = [
        asyncio.create_task(
            grouped.append_events(f"Account-{w}", [NewEvent("Opened", {})], expected_version=0)
        )
        for w in range(WRITERS)
    ]
    await asyncio.sleep(0)  # every append has started; the first is in flight
    tasks[-1].cancel()
    outcomes = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(outcomes[-1], asyncio.CancelledError)
    assert all(isinstance(outcome, AppendResult) for outcome in outcomes[:-1])
    assert await sent_by_its_caller(grouped, watched)  # nothing left in flight


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
    taken = NewEvent("Opened", {})
    await grouped.append_events("Other-1", [taken])
    # The first append goes alone; the others queue into one group statement
    # (exact versions: append_group_exact), which the unique index on
    # event_id stops as a whole because of the last one.
    outcomes = await asyncio.gather(
        *(
            grouped.append_events(f"Account-{w}", [NewEvent("Opened", {})], expected_version=0)
            for w in range(1, 4)
        ),
        grouped.append_events("Account-0", [taken], expected_version=0),
        return_exceptions=True,
    )
    assert isinstance(outcomes[-1], DuplicateEventError)
    assert all(isinstance(outcome, AppendResult) for outcome in outcomes[:-1])


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
        loop = asyncio.get_running_loop()
        deadline = None
        while True:
            if deadline is None and done.is_set():
                deadline = loop.time() + 30
            async for event in grouped.read_all(from_position=checkpoint, batch_size=50):
                seen.append(event.event_id)
                checkpoint = event.position
            # Rows another transaction of the server still holds back come
            # late, never skipped: read on until all came or the deadline.
            if deadline is not None and (len(seen) >= WRITERS * 20 or loop.time() > deadline):
                return seen
            await asyncio.sleep(0.002)

    readers = [asyncio.create_task(follow()) for _ in range(2)]
    await asyncio.gather(*(write(w) for w in range(WRITERS)))
    done.set()
    for seen in await asyncio.gather(*readers):
        assert len(seen) == len(set(seen)) and set(seen) == set(committed)
