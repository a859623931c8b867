"""The SQLite store passes the store contract, on a real file."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from eventsourcing_kit import EventStore
from eventsourcing_kit.testing import StoreContract, StoreFactory


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    async def store(self, store_factory: StoreFactory) -> EventStore:
        return await store_factory.open("sqlite")

    @pytest.fixture
    def store_url(self, store_factory: StoreFactory, store: EventStore) -> str:
        return store_factory.url(store)

    @pytest.fixture
    def reopen(
        self, store_factory: StoreFactory, store: EventStore
    ) -> Callable[[], Awaitable[EventStore]]:
        return lambda: store_factory.reopen(store)
