"""store_factory and store as this suite uses them (the root conftest.py enables the plugin)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from eventsourcing_kit import EventStore, NewEvent, connect
from eventsourcing_kit.errors import ConfigurationError, StoreClosedError
from eventsourcing_kit.stores.postgres import PostgresEventStore
from eventsourcing_kit.stores.sqlite import SQLiteEventStore
from eventsourcing_kit.testing import StoreFactory


async def append_one(store: EventStore, stream_id: str = "Account-1") -> None:
    await store.append_events(stream_id, [NewEvent("Opened", {})])


async def schema_exists(dsn: str, schema: str) -> bool:
    connection = await asyncpg.connect(dsn)
    try:
        found = await connection.fetchval(
            "SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1", schema
        )
    finally:
        await connection.close()
    return bool(found)


async def test_the_store_starts_empty(store: EventStore) -> None:
    assert await store.head_position() is None
    assert [event async for event in store.read_all()] == []


async def test_each_open_gets_storage_of_its_own(
    store_factory: StoreFactory, store_backend: str
) -> None:
    first = await store_factory.open(store_backend)
    second = await store_factory.open(store_backend)
    await append_one(first)
    assert await second.stream_version("Account-1") == 0
    if store_backend != "memory":
        assert store_factory.url(first) != store_factory.url(second)


async def test_a_reopened_store_shares_the_storage_of_the_first(
    store: EventStore, store_factory: StoreFactory
) -> None:
    other = await store_factory.reopen(store)
    assert other is not store
    await append_one(store)
    assert await other.stream_version("Account-1") == 1
    await append_one(other, "Order-1")
    assert await store.stream_version("Order-1") == 1


async def test_a_closed_store_can_be_reopened_a_restart(
    store: EventStore, store_factory: StoreFactory
) -> None:
    await append_one(store)
    await store.close()
    again = await store_factory.reopen(store)
    assert await again.stream_version("Account-1") == 1


async def test_reopen_takes_options_of_its_own(store_factory: StoreFactory) -> None:
    store = await store_factory.open("sqlite", busy_timeout=5)
    with pytest.raises(ConfigurationError, match="busy_timeout"):
        await store_factory.reopen(store, busy_timeout=-1)


async def test_a_memory_store_cannot_be_reopened_so_the_test_skips(
    store_factory: StoreFactory,
) -> None:
    store = await store_factory.open("memory")
    with pytest.raises(pytest.skip.Exception, match="memory store"):
        await store_factory.reopen(store)


@pytest.mark.parametrize("store_backend", ["sqlite", "postgres"])
async def test_connect_opens_the_storage_of_the_url(
    store: EventStore, store_factory: StoreFactory
) -> None:
    await append_one(store)
    async with connect(store_factory.url(store)) as other:
        assert await other.stream_version("Account-1") == 1


async def test_the_url_of_a_memory_store_is_memory(store_factory: StoreFactory) -> None:
    assert store_factory.url(await store_factory.open("memory")) == "memory://"


async def test_a_sqlite_store_is_a_new_file_in_tmp_path(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    stores = [await store_factory.open("sqlite") for _ in range(2)]
    paths = {Path(store.path) for store in stores if isinstance(store, SQLiteEventStore)}
    assert len(paths) == 2
    assert {path.parent for path in paths} == {tmp_path}


async def test_a_postgres_store_has_a_migrated_schema_that_close_drops(
    store_factory: StoreFactory, postgres_dsn: str
) -> None:
    store = await store_factory.open("postgres", max_size=3)
    assert isinstance(store, PostgresEventStore)
    assert store.schema.startswith("eskit_test_")
    assert store.pool.get_max_size() == 3
    await append_one(store)  # the tables are there
    assert await schema_exists(postgres_dsn, store.schema)
    await store_factory.close()  # what the fixture does when the test ends
    with pytest.raises(StoreClosedError):
        await store.stream_version("Account-1")
    assert not await schema_exists(postgres_dsn, store.schema)


async def test_options_go_to_the_backend_and_are_checked_there(
    store_factory: StoreFactory,
) -> None:
    with pytest.raises(ConfigurationError, match="no_such_option"):
        await store_factory.open("sqlite", no_such_option=1)


async def test_an_unknown_backend_is_refused(store_factory: StoreFactory) -> None:
    with pytest.raises(ConfigurationError, match="'memory', 'sqlite', 'postgres'"):
        await store_factory.open("mysql")


async def test_the_factory_chooses_the_schema(store_factory: StoreFactory) -> None:
    with pytest.raises(ConfigurationError, match="schema of its own"):
        await store_factory.open("postgres", schema="mine")


async def test_a_store_the_factory_did_not_open_is_refused(store_factory: StoreFactory) -> None:
    async with connect("memory://") as elsewhere:
        with pytest.raises(ConfigurationError, match="not opened by this store_factory"):
            store_factory.url(elsewhere)
        with pytest.raises(ConfigurationError, match="not opened by this store_factory"):
            await store_factory.reopen(elsewhere)


def test_importing_the_plugin_imports_no_driver() -> None:
    # The plugin must work without the postgres extra: asyncpg comes only
    # with the first PostgreSQL store.
    code = (
        "import sys, eventsourcing_kit.testing.plugin\n"
        "assert 'asyncpg' not in sys.modules, 'asyncpg was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
