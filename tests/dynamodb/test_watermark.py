"""Readers of the global order stop at the indexer's committed watermark."""

from __future__ import annotations

from dynamodb_support import Table, category_log_key, global_log_key

from eventsourcing_kit import NewEvent
from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore


async def test_read_all_never_reads_past_the_indexers_watermark(
    ddb_store: DynamoDBEventStore, table: Table
) -> None:
    await ddb_store.append_events("Account-1", [NewEvent("Opened", {})])
    # A log item past the watermark, as a Query may show one of an indexer
    # transaction's items before the others: no reader may see it.
    for log in (global_log_key, lambda position: category_log_key("Account", position)):
        stored = await table.get(log(1))
        assert stored is not None
        await table.put({**stored, **log(2)})
    assert [event.global_position async for event in ddb_store.read_all()] == [1]
    assert [event.global_position async for event in ddb_store.read_category("Account")] == [1]
    assert await ddb_store.head_position() == 1


async def test_read_category_reads_its_own_log_only(
    ddb_store: DynamoDBEventStore, table: Table
) -> None:
    await ddb_store.append_events("Account-1", [NewEvent("Opened", {})])
    await ddb_store.append_events("Order-1", [NewEvent("Placed", {})])
    # The Order event is in the global log, and in the Order category's log only.
    stored = await table.get(category_log_key("Order", 2))
    assert stored is not None and stored["s"]["S"] == "Order-1"
    assert await table.get(category_log_key("Account", 2)) is None
    assert [e.stream_id async for e in ddb_store.read_category("Order")] == ["Order-1"]
