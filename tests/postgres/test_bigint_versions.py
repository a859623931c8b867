"""Stream versions are 64-bit on PostgreSQL: a stream goes past 2^31 - 1 on every append path."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from uuid import uuid4

import pytest
from postgres_support import WatchedPool, group_statements, watched_pool

from eventsourcing_kit import ExpectedVersion, NewEvent, Snapshot
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier

LAST_INT32 = 2**31 - 1
WRITERS = 16


async def stream_at(store: PostgresEventStore, stream_id: str, version: int) -> None:
    """Make `stream_id` a stream whose last event has `version` (written directly;
    appending 2^31 events would take a while). The store empties its tables
    after each test."""
    s = quote_identifier(store.schema)
    await store.pool.execute(
        f"INSERT INTO {s}.streams (stream_id, version) VALUES ($1, $2)", stream_id, version
    )
    await store.pool.execute(
        f"INSERT INTO {s}.events (event_id, stream_id, version, event_type, data) "
        "VALUES ($1, $2, $3, 'Opened', '{}')",
        uuid4(),
        stream_id,
        version,
    )


@pytest.fixture
async def watched(pg_dsn: str) -> AsyncIterator[WatchedPool]:
    """A pool of the test's own that notes the statements sent over it."""
    async with watched_pool(pg_dsn, max_size=20) as watched:
        yield watched


@pytest.fixture
async def grouped(
    pg_store: PostgresEventStore, watched: WatchedPool
) -> AsyncIterator[PostgresEventStore]:
    # On pg_store's schema, which is emptied after the test.
    store = await PostgresEventStore.from_pool(
        watched.pool, schema=pg_store.schema, migrate=False, visibility_wait=30, group_commit=True
    )
    yield store
    await store.close()


@pytest.mark.parametrize("size", [1, 2], ids=["one_event", "two_events"])
@pytest.mark.parametrize(
    "expected",
    [LAST_INT32, ExpectedVersion.ANY, ExpectedVersion.STREAM_EXISTS],
    ids=["exact_one_statement", "any_function", "stream_exists_function"],
)
async def test_an_append_after_version_2_31_minus_1_gets_version_2_31(
    pg_store: PostgresEventStore, expected: int | ExpectedVersion, size: int
) -> None:
    await stream_at(pg_store, "Big-1", LAST_INT32)
    events = [NewEvent("Deposited", {"n": n}) for n in range(size)]
    result = await pg_store.append_events("Big-1", events, expected_version=expected)
    stored = [e async for e in pg_store.read_stream("Big-1", from_version=2**31)]
    assert result.version == LAST_INT32 + size
    assert [(e.version, e.data) for e in stored] == [(2**31 + n, {"n": n}) for n in range(size)]


async def test_an_append_on_the_callers_connection_goes_past_2_31(
    pg_store: PostgresEventStore,
) -> None:
    await stream_at(pg_store, "Big-1", LAST_INT32)
    async with pg_store.pool.acquire() as connection, connection.transaction():
        result = await pg_store.append_events(
            "Big-1", [NewEvent("Deposited", {})], expected_version=LAST_INT32, connection=connection
        )
    assert result.version == 2**31


async def test_a_group_of_exact_appends_goes_past_2_31(
    grouped: PostgresEventStore, watched: WatchedPool
) -> None:
    for w in range(WRITERS):
        await stream_at(grouped, f"Big-{w}", LAST_INT32)
    batches = [[NewEvent("Deposited", {})] for _ in range(WRITERS)]
    results = await asyncio.gather(
        *(
            grouped.append_events(f"Big-{w}", batches[w], expected_version=LAST_INT32)
            for w in range(WRITERS)
        )
    )
    # The one-statement group (no SQL function) carried them.
    groups = group_statements(watched.sent, batches)
    assert groups
    assert not any(group.calls("append_group") for group in groups)
    # Fewer transactions than appends: the group statement itself succeeded
    # (a group that fails is sent again append by append).
    assert len({result.position.parts[0] for result in results}) < WRITERS
    assert {result.version for result in results} == {2**31}


async def test_a_group_through_append_group_goes_past_2_31(
    grouped: PostgresEventStore, watched: WatchedPool
) -> None:
    for w in range(4):
        await stream_at(grouped, f"Big-{w}", LAST_INT32)
    batches = [[NewEvent("Deposited", {})] for _ in range(WRITERS)]
    results = await asyncio.gather(
        *(grouped.append_events(f"Big-{w % 4}", batches[w]) for w in range(WRITERS))
    )
    groups = group_statements(watched.sent, batches)
    assert groups
    assert all(group.calls("append_group") for group in groups)
    assert len({result.position.parts[0] for result in results}) < WRITERS
    assert sorted(result.version for result in results) == sorted(
        LAST_INT32 + n for _ in range(4) for n in range(1, WRITERS // 4 + 1)
    )


async def test_a_snapshot_past_2_31_saves_and_loads(pg_store: PostgresEventStore) -> None:
    await pg_store.save_snapshot(
        Snapshot(stream_id="Big-1", version=2**40, state_schema="Account/1", data={"b": 1})
    )
    loaded = await pg_store.load_snapshot("Big-1")
    assert loaded is not None
    assert loaded.version == 2**40
