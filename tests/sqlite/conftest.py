"""Fixtures for the SQLite backend's own tests: a store on a new file.

`store` comes from the store plugin's `store_factory`; `path` is its file and
`raw` a plain sqlite3 connection to that file. A test that needs a file with
no store on it yet uses `tmp_path`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from eventsourcing_kit.stores.sqlite import SQLiteEventStore
from eventsourcing_kit.testing import StoreFactory


@pytest.fixture
async def store(store_factory: StoreFactory) -> SQLiteEventStore:
    store = await store_factory.open("sqlite")
    assert isinstance(store, SQLiteEventStore)
    return store


@pytest.fixture
def path(store: SQLiteEventStore) -> Path:
    """The file of `store`."""
    return Path(store.path)


@pytest.fixture
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to the store's file (autocommit), closed afterwards."""
    connection = sqlite3.connect(path, isolation_level=None)
    yield connection
    connection.close()
