"""Fixtures for the subscription tests: each runs on memory, SQLite and PostgreSQL.

`backend` opens stores on one set of data, again and again (a restart);
`store` is one store opened on it. `read_model` is a table a transactional
handler writes through `HandlerContext.connection` (SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from subscription_support import Backend, ReadModel

from eventsourcing_kit import EventStore


@pytest.fixture(scope="session")
def pg_session() -> Iterator[tuple[str, str]]:
    """(dsn, schema): a migrated schema for the session, dropped at its end."""
    from postgres_support import TEST_DSN, require_postgres, session_schema

    dsn = require_postgres(TEST_DSN)
    with session_schema(dsn) as schema:
        yield dsn, schema


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    # A plain fixture: the PostgreSQL session schema is made (and the tables
    # emptied) with asyncio.run, outside the test's event loop.
    if request.param == "memory":
        yield Backend("memory", "memory://", {})
    elif request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'events.db'}", {})
    else:
        from postgres_support import reset_schema

        dsn, schema = request.getfixturevalue("pg_session")
        try:
            yield Backend("postgres", dsn, {"schema": schema, "migrate": False})
        finally:
            asyncio.run(reset_schema(dsn, schema))


@pytest.fixture
async def store(backend: Backend) -> AsyncIterator[EventStore]:
    async with backend.open() as opened:
        yield opened


@pytest.fixture
async def read_model(backend: Backend, store: EventStore) -> AsyncIterator[ReadModel]:
    """A read-model table; memory has no transactions, so those tests skip it."""
    if backend.name == "memory":
        pytest.skip("the memory store has no transaction to write a read model in")
    model = ReadModel(backend)
    await model.create()
    try:
        yield model
    finally:
        await model.drop()
