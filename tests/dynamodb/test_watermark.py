"""Readers of the global order stop at the indexer's committed watermark."""

from __future__ import annotations

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore
from eventsourcing_kit.stores.dynamodb._items import log_key


async def test_read_all_never_reads_past_the_indexers_watermark(
    ddb_store: DynamoDBEventStore,
) -> None:
    await ddb_store.append_events("Account-1", [NewEvent("Opened", {})])
    # A global-log item past the watermark, as a Query may show one of an
    # indexer transaction's items before the others: no reader may see it.
    calls = ddb_store._driver.calls
    table = calls.location.table
    stored = await calls("get_item", TableName=table, Key=log_key(1), ConsistentRead=True)
    await calls("put_item", TableName=table, Item={**stored["Item"], **log_key(2)})
    assert [event.global_position async for event in ddb_store.read_all()] == [1]
    assert [event.global_position async for event in ddb_store.read_category("Account")] == [1]
    assert await ddb_store.head_position() == 1
