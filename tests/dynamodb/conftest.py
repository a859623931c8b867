"""Fixtures for the DynamoDB tests, on the store plugin: a fresh table per store,
on DynamoDB Local (installed and started for the session when missing)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from dynamodb_support import Table, open_table

from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore
from eventsourcing_kit.testing import StoreFactory

DYNAMODB_TESTS = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(DYNAMODB_TESTS):
            item.add_marker(pytest.mark.dynamodb)


@pytest.fixture
async def ddb_store(store_factory: StoreFactory) -> DynamoDBEventStore:
    """A store on a table of its own, deleted after the test."""
    store = await store_factory.open("dynamodb")
    assert isinstance(store, DynamoDBEventStore)
    return store


@pytest.fixture
async def table(store_factory: StoreFactory, ddb_store: DynamoDBEventStore) -> AsyncIterator[Table]:
    """`ddb_store`'s table, through a client of the test's own."""
    async with open_table(store_factory.url(ddb_store)) as table:
        yield table
