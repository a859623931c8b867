"""The memory store passes the store contract."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from eventsourcing_kit import EventStore, connect
from eventsourcing_kit.testing import StoreContract


class TestMemoryStore(StoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[EventStore]:
        store = await connect("memory://")
        yield store
        await store.close()

    @pytest.fixture
    def store_url(self) -> str:
        return "memory://"
