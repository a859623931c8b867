"""Fixtures for the SQLite backend's own tests: a store on a new file."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from eventsourcing_kit.stores.sqlite import SQLiteEventStore


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SQLiteEventStore]:
    store = await SQLiteEventStore.open(str(path))
    yield store
    await store.close()


@pytest.fixture
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the store's file (autocommit), closed afterwards."""
    connection = sqlite3.connect(path, isolation_level=None)
    yield connection
    connection.close()
