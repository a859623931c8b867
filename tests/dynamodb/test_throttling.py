"""Throttling and transaction conflicts are retried with backoff, never reported as
a version conflict.

DynamoDB Local never throttles, so the refusals are injected in front of its
client: the first calls of one operation fail the way DynamoDB fails them,
and the rest reach the emulator.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from botocore.exceptions import ClientError

from eventsourcing_kit import NewEvent
from eventsourcing_kit.errors import ConcurrencyError, TransientStoreError
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore
from eventsourcing_kit.testing import StoreFactory


class Refusing:
    """The emulator's client, whose first `times` calls of `operation` are refused."""

    def __init__(self, client: Any, operation: str, times: int, error: dict[str, Any]) -> None:
        self.client = client
        self.operation = operation
        self.times = times
        self.error = error
        self.refused = 0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)
        if name != self.operation:
            return method

        async def call(**params: Any) -> Any:
            if self.refused < self.times:
                self.refused += 1
                raise ClientError(self.error, name)
            return await method(**params)

        return call


THROTTLED = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
CONFLICT = {
    "Error": {"Code": "TransactionCanceledException", "Message": "conflict"},
    "CancellationReasons": [{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}],
}


def refuse(store: DynamoDBEventStore, times: int, error: dict[str, Any]) -> Refusing:
    # The driver's clients are reached through the store's private driver:
    # this is fault injection in front of the real emulator, not a mock of it.
    calls = store._driver.calls
    refusing = Refusing(calls.dynamodb, "transact_write_items", times, error)
    calls.dynamodb = refusing
    return refusing


async def test_a_throttled_append_is_retried_until_it_succeeds(
    ddb_store: DynamoDBEventStore,
) -> None:
    refusing = refuse(ddb_store, 3, THROTTLED)
    result = await ddb_store.append_events("Account-1", [NewEvent("Opened", {})])
    assert (refusing.refused, result.version) == (3, 1)


async def test_a_transaction_conflict_is_retried_until_it_succeeds(
    ddb_store: DynamoDBEventStore,
) -> None:
    refusing = refuse(ddb_store, 2, CONFLICT)
    result = await ddb_store.append_events(
        "Account-1", [NewEvent("Opened", {})], expected_version=0
    )
    assert (refusing.refused, result.version) == (2, 1)


async def test_throttling_that_outlasts_the_retries_is_transient_not_a_conflict(
    store_factory: StoreFactory,
) -> None:
    store = await store_factory.open("dynamodb", retry_attempts=3)
    assert isinstance(store, DynamoDBEventStore)
    refuse(store, 1000, THROTTLED)
    with pytest.raises(TransientStoreError, match="throttled or contended") as raised:
        await store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
    assert not isinstance(raised.value, ConcurrencyError)
    assert await store.stream_version("Account-1") == 0


class Counting:
    """The emulator's streams client, counting the calls of one operation."""

    def __init__(self, client: Any, operation: str) -> None:
        self.client = client
        self.operation = operation
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        if name == self.operation:
            self.calls += 1
        return getattr(self.client, name)


async def test_an_idle_indexer_reads_a_shard_at_most_once_per_shard_read_interval(
    store_factory: StoreFactory,
) -> None:
    store = await store_factory.open("dynamodb", shard_read_interval=0.25, poll_interval=0.01)
    assert isinstance(store, DynamoDBEventStore)
    await store.append_events("Account-1", [NewEvent("Opened", {})])
    calls = store._driver.calls
    counting = Counting(calls.streams, "get_records")
    calls.streams = counting
    await asyncio.sleep(1.0)
    # 1 s / 0.25 s, and one read that may have been waiting already.
    assert 1 <= counting.calls <= 5
