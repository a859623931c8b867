from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from postgres_support import TEST_DSN, open_store, require_postgres, session_schema

from eventsourcing_kit import EventStore, connect


@pytest.fixture(scope="session")
def repository_pg_schema() -> Iterator[tuple[str, str]]:
    dsn = require_postgres(TEST_DSN)
    with session_schema(dsn) as schema:
        yield dsn, schema


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> str | tuple[str, str]:
    # Resolved outside the event loop: the PostgreSQL session schema is made
    # with asyncio.run().
    if request.param == "postgres":
        pg: tuple[str, str] = request.getfixturevalue("repository_pg_schema")
        return pg
    return "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'repo.db'}"


@pytest.fixture
async def store(backend: str | tuple[str, str]) -> AsyncIterator[EventStore]:
    if isinstance(backend, tuple):
        dsn, schema = backend
        # Every test makes its own aggregates (new UUIDs), so they share the schema.
        async with open_store(dsn, schema, visibility_wait=30) as pg_store:
            yield pg_store
        return
    async with connect(backend) as opened:
        yield opened
