"""Rebuilding missing global-log entries from the table itself.

The indexer learns of new events from the table's stream, which keeps
records for 24 hours: when every indexer was down for longer, the records
of the events stored meanwhile are gone, and those events would never get a
global position. `reindex` finds them in the table instead (a Scan for
events without one), and indexes them after the current watermark, each
stream in version order, the streams interleaved by the time their events
were recorded. It holds the indexer's lease while it works (taken over from
a running indexer, whose commits its fence then refuses), and hands it back
with every shard to be read from its start, so that nothing the stream
still holds is missed.
"""

from __future__ import annotations

import heapq
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from eventsourcing_kit.stores.driver import AppendSignal
from eventsourcing_kit.stores.dynamodb._client import Calls
from eventsourcing_kit.stores.dynamodb._indexer import Indexer
from eventsourcing_kit.stores.dynamodb._items import EVENT, Item, stream_of

__all__ = ["Reindexed", "reindex"]


@attrs.frozen
class Reindexed:
    """What a reindex did: `events` indexed, at positions `first` to `last` (None: none)."""

    events: int
    first: int | None
    last: int | None


async def reindex(calls: Calls, *, lease_ttl: float) -> Reindexed:
    """Give every stored event without a global position one, after the watermark."""
    indexer = Indexer(
        calls,
        AppendSignal(),
        lease_ttl=lease_ttl,
        poll_interval=1.0,
        standby_poll=1.0,
        shard_read_interval=0.0,
    )
    await indexer.take_over()
    try:
        events = in_stream_order(await _unindexed(calls, indexer.renew_if_due))
        first = indexer.next_position
        await indexer.index_backlog(events)
    finally:
        await indexer.stop()
    if not events:
        return Reindexed(events=0, first=None, last=None)
    return Reindexed(events=len(events), first=first, last=first + len(events) - 1)


async def _unindexed(calls: Calls, renew: Callable[[], Awaitable[None]]) -> list[Item]:
    """Every event item without a global position: a consistent Scan of the whole table."""
    params: dict[str, Any] = {
        "TableName": calls.location.table,
        "ConsistentRead": True,
        "FilterExpression": "begins_with(pk, :event) AND sk > :head AND attribute_not_exists(gp)",
        "ExpressionAttributeValues": {":event": {"S": EVENT}, ":head": {"N": "0"}},
    }
    found: list[Item] = []
    while True:
        await renew()
        response = await calls("scan", **params)
        found.extend(response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return found
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def in_stream_order(events: list[Item]) -> list[Item]:
    """`events` merged into one order: each stream's by version, and among the
    streams' next events the one recorded first (ties by stream id)."""
    streams: dict[str, list[Item]] = {}
    for event in events:
        streams.setdefault(stream_of(event), []).append(event)
    queues = {
        stream: sorted(items, key=lambda item: int(item["sk"]["N"]))
        for stream, items in streams.items()
    }
    heads = [(int(queue[0]["ra"]["N"]), stream, 0) for stream, queue in queues.items()]
    heapq.heapify(heads)
    ordered: list[Item] = []
    while heads:
        _, stream, index = heapq.heappop(heads)
        queue = queues[stream]
        ordered.append(queue[index])
        if index + 1 < len(queue):
            heapq.heappush(heads, (int(queue[index + 1]["ra"]["N"]), stream, index + 1))
    return ordered
