"""Appends made on the caller's connection commit or roll back with its transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eventsourcing_kit import NewEvent
from eventsourcing_kit.errors import ConcurrencyError, DuplicateEventError, TransientStoreError
from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier


class Rollback(Exception):
    pass


async def test_append_commits_with_the_callers_transaction(pg_store: PostgresEventStore) -> None:
    async with pg_store.pool.acquire() as connection, connection.transaction():
        await pg_store.append_events(
            "Account-1", [NewEvent("Opened", {})], expected_version=0, connection=connection
        )
        assert await pg_store.stream_version("Account-1") == 0  # not committed yet
    assert await pg_store.stream_version("Account-1") == 1


async def test_append_rolls_back_with_the_callers_transaction(
    pg_store: PostgresEventStore,
) -> None:
    async def append_then_fail() -> None:
        async with pg_store.pool.acquire() as connection, connection.transaction():
            await pg_store.append_events(
                "Account-1", [NewEvent("Opened", {})], expected_version=0, connection=connection
            )
            raise Rollback

    with pytest.raises(Rollback):
        await append_then_fail()
    assert await pg_store.stream_version("Account-1") == 0


async def test_conflict_on_the_callers_connection_is_a_concurrency_error(
    pg_store: PostgresEventStore,
) -> None:
    await pg_store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
    async with pg_store.pool.acquire() as connection, connection.transaction():
        with pytest.raises(ConcurrencyError) as raised:
            await pg_store.append_events(
                "Account-1", [NewEvent("Opened", {})], expected_version=0, connection=connection
            )
    assert raised.value.actual == 1


async def test_stale_repeatable_read_append_is_a_concurrency_error(
    pg_store: PostgresEventStore,
) -> None:
    # A REPEATABLE READ snapshot predates the other writer's commit: the version
    # check reads the old version and only the unique key catches the race.
    await pg_store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
    async with pg_store.pool.acquire() as connection:
        transaction = connection.transaction(isolation="repeatable_read")
        await transaction.start()
        try:
            await connection.fetchval("SELECT 1")  # take the snapshot now
            await pg_store.append_events("Account-1", [NewEvent("Deposited", {})])
            with pytest.raises(ConcurrencyError) as raised:
                await pg_store.append_events(
                    "Account-1", [NewEvent("Deposited", {})], connection=connection
                )
        finally:
            await transaction.rollback()
    assert raised.value.actual == 2


@pytest.fixture
async def read_model(pg_store: PostgresEventStore) -> AsyncIterator[str]:
    table = f"{quote_identifier(pg_store.schema)}.read_model_test"
    await pg_store.pool.execute(f"CREATE TABLE {table} (stream_id text)")
    yield table
    await pg_store.pool.execute(f"DROP TABLE {table}")


async def test_checkpoint_transaction_commits_read_model_writes_with_the_checkpoint(
    pg_store: PostgresEventStore, read_model: str
) -> None:
    await pg_store.append_events("Account-1", [NewEvent("Opened", {})])
    [event] = [e async for e in pg_store.read_all()]
    async with pg_store.checkpoint_transaction("projection") as unit:
        await unit.connection.execute(f"INSERT INTO {read_model} VALUES ($1)", event.stream_id)
        unit.save(event.position)
    assert await pg_store.load_checkpoint("projection") == event.position
    assert await pg_store.pool.fetchval(f"SELECT count(*) FROM {read_model}") == 1


async def test_checkpoint_transaction_rolls_back_read_model_writes_on_error(
    pg_store: PostgresEventStore, read_model: str
) -> None:
    await pg_store.append_events("Account-1", [NewEvent("Opened", {})])
    [event] = [e async for e in pg_store.read_all()]

    async def project_then_fail() -> None:
        async with pg_store.checkpoint_transaction("projection") as unit:
            await unit.connection.execute(f"INSERT INTO {read_model} VALUES ($1)", event.stream_id)
            unit.save(event.position)
            raise Rollback

    with pytest.raises(Rollback):
        await project_then_fail()
    assert await pg_store.load_checkpoint("projection") is None
    assert await pg_store.pool.fetchval(f"SELECT count(*) FROM {read_model}") == 0


@pytest.mark.parametrize("size", [1, 2], ids=["one_event", "two_events"])
async def test_append_works_whatever_the_callers_search_path(
    pg_store: PostgresEventStore, size: int
) -> None:
    async with pg_store.pool.acquire() as connection, connection.transaction():
        await connection.execute("SET LOCAL search_path TO eskit_no_such_schema")
        result = await pg_store.append_events(
            "Path-1", [NewEvent("Pathless", {}) for _ in range(size)], connection=connection
        )
    assert result.version == size
    assert await pg_store.stream_version("Path-1") == size


@pytest.mark.parametrize("size", [1, 2], ids=["one_event", "two_events"])
async def test_retry_on_the_callers_connection_keeps_its_transaction(
    pg_store: PostgresEventStore, read_model: str, size: int
) -> None:
    # The first attempt committed but its reply was lost; the retry runs in
    # the caller's transaction, which must still commit its other writes.
    events = [NewEvent("Opened", {"n": n}) for n in range(size)]
    first = await pg_store.append_events("Account-1", events)
    async with pg_store.pool.acquire() as connection, connection.transaction():
        await connection.execute(f"INSERT INTO {read_model} VALUES ($1)", "Account-1")
        retried = await pg_store.append_events("Account-1", events, connection=connection)
    assert retried == first
    assert await pg_store.pool.fetchval(f"SELECT count(*) FROM {read_model}") == 1


async def test_duplicate_id_from_another_stream_keeps_the_callers_transaction(
    pg_store: PostgresEventStore, read_model: str
) -> None:
    event = NewEvent("Opened", {})
    await pg_store.append_events("Account-1", [event])
    async with pg_store.pool.acquire() as connection, connection.transaction():
        await connection.execute(f"INSERT INTO {read_model} VALUES ($1)", "Account-2")
        with pytest.raises(DuplicateEventError):
            await pg_store.append_events("Account-2", [event], connection=connection)
    assert await pg_store.pool.fetchval(f"SELECT count(*) FROM {read_model}") == 1


async def test_stale_repeatable_read_retry_says_the_callers_transaction_is_aborted(
    pg_store: PostgresEventStore,
) -> None:
    # The snapshot predates the first attempt's commit, so the pre-check
    # cannot see its ids: the unique index stops the retry and aborts the
    # caller's transaction. That must never be reported as a success.
    events = [NewEvent("Opened", {})]
    async with pg_store.pool.acquire() as connection:
        transaction = connection.transaction(isolation="repeatable_read")
        await transaction.start()
        try:
            await connection.fetchval("SELECT 1")  # take the snapshot now
            await pg_store.append_events("Account-1", events)
            with pytest.raises(TransientStoreError, match="roll it back"):
                await pg_store.append_events("Account-1", events, connection=connection)
        finally:
            await transaction.rollback()


async def test_stale_repeatable_read_conflict_says_the_callers_transaction_is_aborted(
    pg_store: PostgresEventStore,
) -> None:
    await pg_store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
    async with pg_store.pool.acquire() as connection:
        transaction = connection.transaction(isolation="repeatable_read")
        await transaction.start()
        try:
            await connection.fetchval("SELECT 1")  # take the snapshot now
            await pg_store.append_events("Account-1", [NewEvent("Deposited", {})])
            with pytest.raises(ConcurrencyError) as raised:
                await pg_store.append_events(
                    "Account-1", [NewEvent("Deposited", {})], connection=connection
                )
        finally:
            await transaction.rollback()
    assert "roll it back" in " ".join(getattr(raised.value, "__notes__", []))
