"""The memory store passes the store contract."""

from __future__ import annotations

import pytest

from eventsourcing_kit import EventStore
from eventsourcing_kit.testing import StoreContract, StoreFactory


class TestMemoryStore(StoreContract):
    @pytest.fixture
    async def store(self, store_factory: StoreFactory) -> EventStore:
        return await store_factory.open("memory")

    @pytest.fixture
    def store_url(self, store_factory: StoreFactory, store: EventStore) -> str:
        return store_factory.url(store)
