"""Throttling and transaction conflicts are retried with backoff, never reported as
a version conflict.

DynamoDB Local never throttles, so the refusals come from a proxy in front of
it (`dynamodb_proxy`): the first calls of one operation fail on the wire the
way DynamoDB fails them, and the rest reach the emulator.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import attrs
import pytest
from dynamodb_proxy import DynamoDBProxy, dynamodb_proxy

from eventsourcing_kit import NewEvent
from eventsourcing_kit.errors import ConcurrencyError, TransientStoreError
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore, location_from_url
from eventsourcing_kit.testing import StoreFactory
from eventsourcing_kit.testing.dynamodb_local import DYNAMODB_DEFAULTS

THROTTLED = "ProvisionedThroughputExceededException"
CONFLICT = "TransactionCanceledException"
CONFLICT_REASONS = [{"Code": "TransactionConflict"}, {"Code": "None"}, {"Code": "None"}]

Proxied = Callable[..., Any]


@pytest.fixture
async def proxied(store_factory: StoreFactory) -> AsyncIterator[Proxied]:
    """Opens stores on a fresh table through a proxy in front of the emulator."""
    # Without an indexer: the proxied stores' own indexer is the active one.
    table_owner = await store_factory.open("dynamodb", indexer=False)
    location = location_from_url(store_factory.url(table_owner))
    assert location.endpoint_url is not None
    opened: list[DynamoDBEventStore] = []
    async with dynamodb_proxy(location.endpoint_url) as proxy:

        async def open_store(**options: Any) -> tuple[DynamoDBEventStore, DynamoDBProxy]:
            url = attrs.evolve(location, endpoint_url=proxy.endpoint_url).url()
            store = await DynamoDBEventStore.open(url, **{**DYNAMODB_DEFAULTS, **options})
            opened.append(store)
            return store, proxy

        try:
            yield open_store
        finally:
            for store in opened:
                await store.close()


async def test_a_throttled_append_is_retried_until_it_succeeds(proxied: Proxied) -> None:
    store, proxy = await proxied()
    proxy.refuse("TransactWriteItems", 3, THROTTLED)
    result = await store.append_events("Account-1", [NewEvent("Opened", {})])
    assert (proxy.refused["TransactWriteItems"], result.version) == (3, 1)


async def test_a_transaction_conflict_is_retried_until_it_succeeds(proxied: Proxied) -> None:
    store, proxy = await proxied()
    proxy.refuse("TransactWriteItems", 2, CONFLICT, CancellationReasons=CONFLICT_REASONS)
    result = await store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
    assert (proxy.refused["TransactWriteItems"], result.version) == (2, 1)


async def test_throttling_that_outlasts_the_retries_is_transient_not_a_conflict(
    proxied: Proxied,
) -> None:
    store, proxy = await proxied(retry_attempts=3)
    proxy.refuse("TransactWriteItems", 1000, THROTTLED)
    with pytest.raises(TransientStoreError, match="throttled or contended") as raised:
        await store.append_events("Account-1", [NewEvent("Opened", {})], expected_version=0)
    assert not isinstance(raised.value, ConcurrencyError)
    assert await store.stream_version("Account-1") == 0


async def test_an_idle_indexer_reads_a_shard_at_most_once_per_shard_read_interval(
    proxied: Proxied,
) -> None:
    store, proxy = await proxied(shard_read_interval=0.25, poll_interval=0.01)
    await store.append_events("Account-1", [NewEvent("Opened", {})])
    before = proxy.calls["GetRecords"]
    await asyncio.sleep(1.0)
    # 1 s / 0.25 s, and one read that may have been waiting already.
    assert 1 <= proxy.calls["GetRecords"] - before <= 5
