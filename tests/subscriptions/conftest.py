"""Fixtures for the subscription tests: each runs on memory, SQLite and PostgreSQL.

`backend` is the storage of one fresh store of the plugin's `store_backend`,
opened again and again (a restart); `store` is the first store on it.
`read_model` is a table a transactional handler writes through
`HandlerContext.connection` (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from subscription_support import Backend, ReadModel

from eventsourcing_kit import EventStore
from eventsourcing_kit.testing import StoreFactory


@pytest.fixture
async def backend(store_factory: StoreFactory, store_backend: str) -> Backend:
    return Backend(store_backend, store_factory, await store_factory.open(store_backend))


@pytest.fixture
def store(backend: Backend) -> EventStore:
    return backend.store


@pytest.fixture
async def read_model(backend: Backend, store: EventStore) -> AsyncIterator[ReadModel]:
    """A read-model SQL table. Memory gives a checkpoint transaction no connection
    to write one through, and DynamoDB a collector of DynamoDB writes, not SQL
    (its read-model tests are tests/dynamodb/test_read_models.py): those skip."""
    if backend.name == "memory":
        pytest.skip("the memory store has no transaction to write a read model in")
    if backend.name == "dynamodb":
        pytest.skip("DynamoDB read models are written as DynamoDB actions, not SQL")
    model = ReadModel(backend)
    await model.create()
    try:
        yield model
    finally:
        await model.drop()
