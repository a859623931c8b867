"""Opening the store: DSNs, pools the caller owns, unreachable servers."""

from __future__ import annotations

import asyncpg
import pytest
from postgres_support import open_store, table_locked

from eventsourcing_kit import NewEvent, connect
from eventsourcing_kit.errors import (
    ConfigurationError,
    InvalidInputError,
    MigrationError,
    StoreUnavailableError,
    TransientStoreError,
)
from eventsourcing_kit.stores.postgres import PostgresEventStore


async def test_unreachable_server_raises_store_unavailable() -> None:
    with pytest.raises(StoreUnavailableError, match=r"127\.0\.0\.1:1"):
        await PostgresEventStore.open("postgresql://postgres@127.0.0.1:1/test")


async def test_connect_opens_a_postgres_store(pg_dsn: str, pg_schema: str) -> None:
    async with connect(f"{pg_dsn}?schema={pg_schema}") as store:
        assert isinstance(store, PostgresEventStore)
        assert store.schema == pg_schema


async def test_closing_a_store_leaves_the_callers_pool_open(pg_dsn: str, pg_schema: str) -> None:
    async with asyncpg.create_pool(pg_dsn, min_size=1, max_size=3) as pool:
        store = await PostgresEventStore.from_pool(pool, schema=pg_schema)
        await store.append_events("Pool-1", [NewEvent("Opened", {})])
        await store.wait_for_events(timeout=0.01)  # takes a listen connection too
        await store.close()
        assert not pool.is_closing()
        assert await pool.fetchval("SELECT 1") == 1


async def test_closing_a_store_opened_by_dsn_closes_its_pool(pg_dsn: str, pg_schema: str) -> None:
    store = await PostgresEventStore.open(pg_dsn, schema=pg_schema, migrate=False)
    await store.close()
    assert store.pool.is_closing()


async def test_an_unmigrated_schema_is_reported_as_a_migration_error(pg_dsn: str) -> None:
    store = await PostgresEventStore.open(pg_dsn, schema="eskit_test_never_made", migrate=False)
    try:
        with pytest.raises(MigrationError, match="eventsourcing-kit migrate"):
            await store.stream_version("Account-1")
    finally:
        await store.close()


async def test_statement_timeout_is_a_transient_error(pg_dsn: str, pg_schema: str) -> None:
    store = await PostgresEventStore.open(
        pg_dsn, schema=pg_schema, migrate=False, statement_timeout=0.05
    )
    try:
        # The events table locked: reading a stream's version waits past the timeout.
        async with table_locked(pg_dsn, pg_schema, "events"):
            with pytest.raises(TransientStoreError):
                await store.stream_version("Account-1")
    finally:
        await store.close()


async def test_a_dsn_schema_conflicting_with_the_option_is_rejected(pg_dsn: str) -> None:
    with pytest.raises(ConfigurationError, match="give one of them"):
        await PostgresEventStore.open(f"{pg_dsn}?schema=a", schema="b")


@pytest.mark.parametrize(
    "position",
    [
        pytest.param(5, id="int"),
        pytest.param((1,), id="one-int"),
        pytest.param((1, 2, 3), id="three-ints"),
        pytest.param((1, -2), id="negative"),
        pytest.param((True, 2), id="bool"),
        pytest.param("1,2", id="str"),
    ],
)
async def test_read_all_rejects_a_malformed_position(
    pg_store: PostgresEventStore, position: object
) -> None:
    with pytest.raises(InvalidInputError, match="pair"):
        pg_store.read_all(from_position=position)  # type: ignore[arg-type]


async def test_a_position_that_went_through_json_is_accepted(
    pg_store: PostgresEventStore,
) -> None:
    await pg_store.append_events("Account-1", [NewEvent("Opened", {}), NewEvent("Closed", {})])
    first, second = [e async for e in pg_store.read_all()]
    after = [e.event_id async for e in pg_store.read_all(from_position=list(first.position.parts))]
    assert after == [second.event_id]


async def test_a_connection_lent_from_the_stores_pool_is_reset_on_release(
    pg_dsn: str, pg_store: PostgresEventStore
) -> None:
    async with open_store(pg_dsn, pg_store.schema, min_size=1, max_size=1) as store:
        async with store.pool.acquire() as connection:
            await connection.execute("SET application_name = 'left_behind'")
        await store.append_events("Reset-1", [NewEvent("Checked", {})])
        async with store.checkpoint_transaction("reset-check") as unit:
            await unit.connection.execute("SET application_name = 'left_behind'")
        async with store.pool.acquire() as connection:
            assert await connection.fetchval("SHOW application_name") != "left_behind"


@pytest.mark.parametrize("delay", [-0.001, 2, float("nan"), "0.1"])
async def test_an_invalid_notify_delay_is_rejected(pg_dsn: str, delay: object) -> None:
    with pytest.raises(ConfigurationError, match="notify_delay"):
        await PostgresEventStore.open(pg_dsn, notify_delay=delay, migrate=False)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("min_size", -1),
        ("min_size", 1.5),
        ("max_size", 0),
        ("max_size", True),
        ("statement_timeout", 0),
        ("statement_timeout", float("inf")),
        ("connect_timeout", -1),
        ("connect_timeout", "5"),
    ],
)
async def test_an_invalid_pool_option_is_rejected_before_connecting(
    option: str, value: object
) -> None:
    # No server listens on port 1: an attempt to connect would raise
    # StoreUnavailableError instead.
    with pytest.raises(ConfigurationError, match=option):
        await PostgresEventStore.open(
            "postgresql://nobody@127.0.0.1:1/none",
            migrate=False,
            **{option: value},  # type: ignore[arg-type]
        )


async def test_max_size_below_min_size_is_rejected_before_connecting() -> None:
    with pytest.raises(ConfigurationError, match="max_size"):
        await PostgresEventStore.open(
            "postgresql://nobody@127.0.0.1:1/none", min_size=5, max_size=2, migrate=False
        )


@pytest.mark.parametrize(
    ("dsn", "message"),
    [
        ("postgresql://postgres@127.0.0.1:notaport/db", r"invalid port 'notaport'.*1 to 65535"),
        ("postgresql://postgres@127.0.0.1:99999/db", r"invalid port '99999'"),
        ("postgresql://postgres@[::1/db", r"'\[' or '\]' without its pair.*\[::1\]:5432"),
        ("postgresql://postgres@::1]:5432/db", r"'\[' or '\]' without its pair"),
        ("postgresql://postgres@[::1]x:5432/db", r"cannot read host '\[::1\]x:5432'"),
        ("postgresql://h1:5432,h2:port/db", r"invalid port 'port'"),
    ],
)
async def test_a_malformed_url_is_a_configuration_error_before_connecting(
    dsn: str, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        await PostgresEventStore.open(dsn)


@pytest.mark.parametrize("dsn", ["postgresql://u@127.0.0.1:x/db", "postgresql://u@[::1/db"])
async def test_connect_reports_a_malformed_url_as_such(dsn: str) -> None:
    with pytest.raises(ConfigurationError, match="PostgreSQL URL"):
        await connect(dsn)


async def test_an_unknown_query_option_is_reported_as_an_option_not_as_an_absent_server(
    pg_dsn: str, pg_schema: str
) -> None:
    with pytest.raises(ConfigurationError, match=r"unknown or invalid option.*\"bogus\"") as caught:
        await connect(f"{pg_dsn}?schema={pg_schema}&bogus=1", migrate=False)
    assert "check that the server runs" not in str(caught.value)


async def test_an_invalid_driver_option_in_the_query_is_a_configuration_error(
    pg_dsn: str, pg_schema: str
) -> None:
    with pytest.raises(ConfigurationError, match="sslmode"):
        await connect(f"{pg_dsn}?schema={pg_schema}&sslmode=bogus", migrate=False)
