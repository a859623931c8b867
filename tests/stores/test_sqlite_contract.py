"""The SQLite store passes the store contract, on a real file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from eventsourcing_kit import EventStore, connect
from eventsourcing_kit.testing import StoreContract
from eventsourcing_kit.testing._store_contract import Reopen


class TestSQLiteStore(StoreContract):
    @pytest.fixture
    def store_url(self, tmp_path: Path) -> str:
        # An absolute path: sqlite:////tmp/... (four slashes).
        return f"sqlite:///{tmp_path / 'events.db'}"

    @pytest.fixture
    async def store(self, store_url: str) -> AsyncIterator[EventStore]:
        store = await connect(store_url)
        yield store
        await store.close()

    @pytest.fixture
    async def reopen(self, store_url: str) -> AsyncIterator[Reopen]:
        opened: list[EventStore] = []

        async def open_again() -> EventStore:
            store = await connect(store_url)
            opened.append(store)
            return store

        yield open_again
        for store in opened:
            await store.close()
