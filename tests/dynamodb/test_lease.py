"""The indexer's lease: one holder at a time, and a fence that stops a former holder."""

from __future__ import annotations

import asyncio

import pytest

from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore
from eventsourcing_kit.stores.dynamodb._client import Calls, Canceled
from eventsourcing_kit.stores.dynamodb._lease import fence, renew_lease, take_lease


def calls_of(store: DynamoDBEventStore) -> Calls:
    return store._driver.calls


async def test_a_held_lease_cannot_be_taken(ddb_store: DynamoDBEventStore) -> None:
    calls = calls_of(ddb_store)
    assert await take_lease(calls, "test", "a", 30.0) is not None
    assert await take_lease(calls, "test", "b", 30.0) is None


async def test_an_expired_lease_is_taken_at_a_new_epoch(ddb_store: DynamoDBEventStore) -> None:
    calls = calls_of(ddb_store)
    first = await take_lease(calls, "test", "a", 0.1)
    await asyncio.sleep(0.2)
    second = await take_lease(calls, "test", "b", 30.0)
    assert first is not None and second is not None
    assert second.epoch == first.epoch + 1


async def test_a_former_holder_can_neither_renew_nor_commit(ddb_store: DynamoDBEventStore) -> None:
    calls = calls_of(ddb_store)
    former = await take_lease(calls, "test", "a", 0.1)
    assert former is not None
    await asyncio.sleep(0.2)
    assert await take_lease(calls, "test", "b", 30.0) is not None
    assert await renew_lease(calls, former, 30.0) is None
    with pytest.raises(Canceled):
        await calls("transact_write_items", TransactItems=[fence(calls.location.table, former)])
