"""Fixtures for the PostgreSQL tests: one throwaway schema per session.

The server is `EVENTSOURCING_KIT_TEST_DSN` (default
postgresql://postgres@127.0.0.1:5432/test). When it is unreachable the tests
are skipped, unless env ``CI`` is set: then they fail.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from postgres_support import TEST_DSN, open_store, require_postgres, reset_schema, session_schema

from eventsourcing_kit.stores.postgres import PostgresEventStore

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """The DSN of the test server (skips or fails when it is unreachable)."""
    return require_postgres(TEST_DSN)


@pytest.fixture(scope="session")
def pg_schema(pg_dsn: str) -> Iterator[str]:
    """A migrated schema for this session, dropped at its end."""
    with session_schema(pg_dsn) as schema:
        yield schema


@pytest.fixture
async def pg_store(pg_dsn: str, pg_schema: str) -> AsyncIterator[PostgresEventStore]:
    """A store on the session schema, emptied after the test.

    The server is shared: other sessions' transactions can hold delivery back
    (docs/postgres.md, "The global order"). A generous `visibility_wait` lets
    reads return what committed, however loaded the server; it costs nothing
    when the server is quiet.
    """
    try:
        async with open_store(pg_dsn, pg_schema, max_size=20, visibility_wait=30) as store:
            yield store
    finally:
        await reset_schema(pg_dsn, pg_schema)
