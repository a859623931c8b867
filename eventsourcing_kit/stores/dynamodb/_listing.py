"""Listing the streams and the checkpoints of a table: Scans, for operators.

DynamoDB has no index over partitions, so both read the whole table (a
paginated, consistent Scan filtered by key prefix): their cost grows with
the table, events included. They serve the command line and tools, never
an append or a read of the global order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from eventsourcing_kit.stores.driver import Position, StreamInfo
from eventsourcing_kit.stores.dynamodb._client import Calls
from eventsourcing_kit.stores.dynamodb._items import CHECKPOINT, EVENT

__all__ = ["list_checkpoints", "list_streams"]


async def list_streams(
    calls: Calls, category: str | None, batch_size: int
) -> AsyncIterator[StreamInfo]:
    """Each stream that holds events, from its head item (sort key 0), once."""
    # A category is the stream id's part before its first "-": the prefix
    # narrows the Scan's answer, the comparison below decides.
    prefix = EVENT + (category or "")
    async for item in _scan(
        calls,
        batch_size,
        FilterExpression="begins_with(pk, :prefix) AND sk = :head AND v > :none",
        ExpressionAttributeValues={
            ":prefix": {"S": prefix},
            ":head": {"N": "0"},
            ":none": {"N": "0"},
        },
        ProjectionExpression="pk, v",
    ):
        stream = StreamInfo(stream_id=item["pk"]["S"][len(EVENT) :], version=int(item["v"]["N"]))
        if category is None or stream.category == category:
            yield stream


async def list_checkpoints(calls: Calls) -> dict[str, Position]:
    """Every stored checkpoint, by subscription id."""
    checkpoints: dict[str, Position] = {}
    async for item in _scan(
        calls,
        None,
        FilterExpression="begins_with(pk, :prefix)",
        ExpressionAttributeValues={":prefix": {"S": CHECKPOINT}},
        ProjectionExpression="pk, p",
    ):
        checkpoints[item["pk"]["S"][len(CHECKPOINT) :]] = Position(int(item["p"]["N"]))
    return checkpoints


async def _scan(calls: Calls, page: int | None, **params: Any) -> AsyncIterator[dict[str, Any]]:
    params = {"TableName": calls.location.table, "ConsistentRead": True, **params}
    if page is not None:
        params["Limit"] = page
    while True:
        response = await calls("scan", **params)
        for item in response.get("Items", []):
            yield item
        if "LastEvaluatedKey" not in response:
            return
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
