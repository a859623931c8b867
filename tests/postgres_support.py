"""PostgreSQL test plumbing beyond the store plugin: unmigrated schemas, more stores.

Stores for tests come from the plugin (`store_factory`, the `pg_store`
fixture). This module serves the tests that need what the plugin does not
hand out: a schema name to migrate by hand, a second store on a schema with
other options, a record of the queries a store sends. Import it from any
test folder (``from postgres_support import ...``; the tests folder is on
sys.path through its conftest.py). Every schema it names is
``eskit_test_<random>`` and dropped by whoever made it.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import pytest

from eventsourcing_kit.stores.postgres import PostgresEventStore, quote_identifier

__all__ = [
    "drop_schema",
    "new_schema_name",
    "open_store",
    "record_fetches",
]

SCHEMA_PREFIX = "eskit_test_"


def new_schema_name() -> str:
    """A schema name no other test session uses."""
    return SCHEMA_PREFIX + secrets.token_hex(6)


async def drop_schema(dsn: str, schema: str) -> None:
    """Drop a schema this test session created, with everything in it."""
    assert schema.startswith(SCHEMA_PREFIX), schema
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {quote_identifier(schema)} CASCADE")
    finally:
        await connection.close()


@asynccontextmanager
async def open_store(dsn: str, schema: str, **options: object) -> AsyncIterator[PostgresEventStore]:
    """A store on an already migrated schema, closed afterwards."""
    store = await PostgresEventStore.open(dsn, schema=schema, migrate=False, **options)  # type: ignore[arg-type]
    try:
        yield store
    finally:
        await store.close()


def record_fetches(store: PostgresEventStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The queries `store` fetches through its lane from now on, in the order
    they start; each still runs as before."""
    lane = store._driver._lane
    fetch = lane.fetch
    started: list[str] = []

    async def recorded(query: str, *args: Any) -> list[Any]:
        started.append(query)
        return await fetch(query, *args)

    monkeypatch.setattr(lane, "fetch", recorded)
    return started
