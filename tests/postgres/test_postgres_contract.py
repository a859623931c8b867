"""The PostgreSQL store passes the shared store contract."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from postgres_support import open_store

from eventsourcing_kit.stores import EventStore
from eventsourcing_kit.stores.postgres import PostgresEventStore
from eventsourcing_kit.testing import StoreContract
from eventsourcing_kit.testing._store_contract import Reopen


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, pg_store: PostgresEventStore) -> EventStore:
        return pg_store

    @pytest.fixture
    async def reopen(self, pg_dsn: str, pg_schema: str) -> AsyncIterator[Reopen]:
        opened: list[PostgresEventStore] = []

        async def open_another() -> EventStore:
            store = await PostgresEventStore.open(
                pg_dsn, schema=pg_schema, migrate=False, visibility_wait=30
            )
            opened.append(store)
            return store

        yield open_another
        for store in opened:
            await store.close()

    @pytest.fixture
    def store_url(self, pg_dsn: str, pg_store: PostgresEventStore) -> str:
        # Through pg_store: what the test writes by URL is emptied after it too.
        return f"{pg_dsn}?schema={pg_store.schema}"


class TestPostgresStoreWithoutGroupCommit(TestPostgresStore):
    """The same contract with group_commit=False (every append its own transaction)."""

    @pytest.fixture
    async def store(  # type: ignore[override]
        self, pg_dsn: str, pg_store: PostgresEventStore
    ) -> AsyncIterator[EventStore]:
        # Through pg_store: its schema is emptied after the test.
        async with open_store(
            pg_dsn, pg_store.schema, max_size=20, visibility_wait=30, group_commit=False
        ) as store:
            yield store
