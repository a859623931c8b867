"""Readers of the global order stop at the indexer's committed watermark."""

from __future__ import annotations

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore
from eventsourcing_kit.stores.dynamodb._items import category_log_key, log_key


async def test_read_all_never_reads_past_the_indexers_watermark(
    ddb_store: DynamoDBEventStore,
) -> None:
    await ddb_store.append_events("Account-1", [NewEvent("Opened", {})])
    # A global-log item past the watermark, as a Query may show one of an
    # indexer transaction's items before the others: no reader may see it.
    calls = ddb_store._driver.calls
    table = calls.location.table
    for log in (log_key, lambda position: category_log_key("Account", position)):
        stored = await calls("get_item", TableName=table, Key=log(1), ConsistentRead=True)
        await calls("put_item", TableName=table, Item={**stored["Item"], **log(2)})
    assert [event.global_position async for event in ddb_store.read_all()] == [1]
    assert [event.global_position async for event in ddb_store.read_category("Account")] == [1]
    assert await ddb_store.head_position() == 1


async def test_read_category_reads_its_own_log_only(ddb_store: DynamoDBEventStore) -> None:
    await ddb_store.append_events("Account-1", [NewEvent("Opened", {})])
    await ddb_store.append_events("Order-1", [NewEvent("Placed", {})])
    calls = ddb_store._driver.calls
    table = calls.location.table
    # The Order event is in the global log, and in the Order category's log only.
    stored = await calls(
        "get_item", TableName=table, Key=category_log_key("Order", 2), ConsistentRead=True
    )
    assert stored["Item"]["s"]["S"] == "Order-1"
    missing = await calls(
        "get_item", TableName=table, Key=category_log_key("Account", 2), ConsistentRead=True
    )
    assert "Item" not in missing
    assert [e.stream_id async for e in ddb_store.read_category("Order")] == ["Order-1"]
