"""The PostgreSQL store passes the shared store contract."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from eventsourcing_kit.stores import EventStore
from eventsourcing_kit.stores.postgres import PostgresEventStore
from eventsourcing_kit.testing import StoreContract, StoreFactory


class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self, pg_store: PostgresEventStore) -> EventStore:
        return pg_store

    @pytest.fixture
    def reopen(
        self, store_factory: StoreFactory, store: EventStore
    ) -> Callable[[], Awaitable[EventStore]]:
        return lambda: store_factory.reopen(store)

    @pytest.fixture
    def store_url(self, store_factory: StoreFactory, store: EventStore) -> str:
        return store_factory.url(store)


class TestPostgresStoreWithoutGroupCommit(TestPostgresStore):
    """The same contract with group_commit=False (every append its own transaction)."""

    @pytest.fixture
    async def store(  # type: ignore[override]
        self, store_factory: StoreFactory
    ) -> EventStore:
        return await store_factory.open("postgres", max_size=20, group_commit=False)
