"""Which events of the announced streams still need a global position.

A stream record only announces "stream S has events up to version V". The
events themselves are read from the stream's partition, from the last one
this indexer indexed (or, when it does not know, backwards until an indexed
one), so they are indexed in version order whatever order the records came in.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from eventsourcing_kit.stores.dynamodb._client import Calls
from eventsourcing_kit.stores.dynamodb._items import Item, stream_key

__all__ = ["unindexed_events"]

_CONCURRENT_READS = 16


async def unindexed_events(
    calls: Calls,
    announced: dict[str, int],
    indexed: dict[str, int],
    images: dict[tuple[str, int], Item],
) -> list[Item]:
    """The unindexed events of each announced stream, streams in order, versions ascending.

    `images` are the events as the stream records carried them: when they
    cover every version after the last one indexed, the stream is not read.
    """
    limit = asyncio.Semaphore(_CONCURRENT_READS)

    async def one(stream_id: str, upto: int) -> list[Item]:
        async with limit:
            known = indexed.get(stream_id)
            if known is not None and upto <= known:
                return []
            if known is not None:
                wanted = [
                    images.get((stream_id, version)) for version in range(known + 1, upto + 1)
                ]
                if all(image is not None for image in wanted):
                    return [image for image in wanted if image is not None]
                return await _forward(calls, stream_id, known + 1, upto)
            return await _backward(calls, stream_id, upto)

    found = await asyncio.gather(*(one(stream, upto) for stream, upto in announced.items()))
    return [event for events in found for event in events if "gp" not in event]


async def _query(
    calls: Calls, stream_id: str, low: int, high: int, forward: bool
) -> AsyncIterator[list[Item]]:
    params: dict[str, Any] = {
        "TableName": calls.location.table,
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":pk": stream_key(stream_id)["pk"],
            ":lo": {"N": str(low)},
            ":hi": {"N": str(high)},
        },
        "ConsistentRead": True,
        "ScanIndexForward": forward,
    }
    if not forward:
        # Backwards, the indexed event that ends the search is usually the
        # first one met: small pages keep from reading the stream's history.
        params["Limit"] = 25
    while True:
        response = await calls("query", **params)
        yield response.get("Items", [])
        if "LastEvaluatedKey" not in response:
            return
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


async def _forward(calls: Calls, stream_id: str, low: int, high: int) -> list[Item]:
    events: list[Item] = []
    async for page in _query(calls, stream_id, low, high, True):
        events.extend(page)
    return events


async def _backward(calls: Calls, stream_id: str, high: int) -> list[Item]:
    events: list[Item] = []
    async for page in _query(calls, stream_id, 1, high, False):
        for event in page:
            if "gp" in event:
                events.reverse()
                return events
            events.append(event)
    events.reverse()
    return events
