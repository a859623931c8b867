"""Reusable PostgreSQL test plumbing: the DSN, throwaway schemas, resets.

Import it from any test folder (``from postgres_support import ...``; the
tests folder is on sys.path through its conftest.py). Every schema it makes
is named ``eskit_test_<random>`` and dropped by whoever made it; nothing
else in the database is touched.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
import pytest

from eventsourcing_kit.stores.postgres import PostgresEventStore, migrate, quote_identifier
from eventsourcing_kit.testing._postgres_server import require_postgres as _plugin_require_postgres

__all__ = [
    "TEST_DSN",
    "drop_schema",
    "new_schema_name",
    "open_store",
    "require_postgres",
    "reset_schema",
    "session_schema",
]

TEST_DSN = os.environ.get("EVENTSOURCING_KIT_TEST_DSN", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA_PREFIX = "eskit_test_"


def new_schema_name() -> str:
    """A schema name no other test session uses."""
    return SCHEMA_PREFIX + secrets.token_hex(6)


def require_postgres(dsn: str = TEST_DSN) -> str:
    """`dsn` if the server answers; else skip, or fail when env ``CI`` is set.

    The rule is the store plugin's (eventsourcing_kit.testing.plugin), so
    that these fixtures and the plugin's skip and fail alike.
    """
    return _plugin_require_postgres(dsn)


async def drop_schema(dsn: str, schema: str) -> None:
    """Drop a schema this test session created, with everything in it."""
    assert schema.startswith(SCHEMA_PREFIX), schema
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f"DROP SCHEMA IF EXISTS {quote_identifier(schema)} CASCADE")
    finally:
        await connection.close()


async def reset_schema(dsn: str, schema: str) -> None:
    """Empty the store's tables (the append-only trigger is lifted for it)."""
    assert schema.startswith(SCHEMA_PREFIX), schema
    s = quote_identifier(schema)
    connection = await asyncpg.connect(dsn)
    try:
        async with connection.transaction():
            await connection.execute(
                f"ALTER TABLE {s}.events DISABLE TRIGGER events_append_only; "
                f"TRUNCATE {s}.events, {s}.streams, {s}.snapshots, {s}.subscription_checkpoints "
                "RESTART IDENTITY; "
                f"ALTER TABLE {s}.events ENABLE TRIGGER events_append_only"
            )
    finally:
        await connection.close()


@contextmanager
def session_schema(dsn: str) -> Iterator[str]:
    """A migrated schema for a whole test session, dropped at its end."""
    schema = new_schema_name()
    asyncio.run(migrate(dsn, schema=schema))
    try:
        yield schema
    finally:
        asyncio.run(drop_schema(dsn, schema))


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
