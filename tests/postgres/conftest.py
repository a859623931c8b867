"""Fixtures for the PostgreSQL tests, on the store plugin (`eventsourcing_kit.testing.plugin`).

Each test gets a store in a fresh schema of its own, migrated, and dropped
when the test ends. The server is the plugin's (``--eventsourcing-kit-dsn``
or env ``EVENTSOURCING_KIT_TEST_DSN``); when it is unreachable the tests are
skipped, unless env ``CI`` is set: then they fail. tests/conftest.py marks
every test here ``postgres``.
"""

from __future__ import annotations

import pytest

from eventsourcing_kit.stores.postgres import PostgresEventStore
from eventsourcing_kit.testing import StoreFactory


@pytest.fixture
def pg_dsn(postgres_dsn: str) -> str:
    """The DSN of the test server (skips or fails when it is unreachable)."""
    return postgres_dsn


@pytest.fixture
async def pg_store(store_factory: StoreFactory) -> PostgresEventStore:
    """A store in a schema of its own, dropped after the test.

    The server is shared: other sessions' transactions can hold delivery back
    (docs/postgres.md, "The global order"). The plugin's generous
    `visibility_wait` lets reads return what committed, however loaded the
    server; it costs nothing when the server is quiet.
    """
    store = await store_factory.open("postgres", max_size=20)
    assert isinstance(store, PostgresEventStore)
    return store


@pytest.fixture
def pg_schema(pg_store: PostgresEventStore) -> str:
    """The migrated schema of `pg_store`, for tests that open more stores on it."""
    return pg_store.schema
