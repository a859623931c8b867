"""Reading: a stream from its partition, the global order from the global log.

A stream is one strongly consistent Query. The global order is read from
the global log (a category from its category log) below the indexer's
committed watermark only: the indexer
writes log items and moves the watermark in one transaction, and a Query
may see a transaction's items one by one, so a reader that ignored the
watermark could see position 12 before 11 and skip 11 for good.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from eventsourcing_kit.errors import TransientStoreError
from eventsourcing_kit.stores.driver import AppendSignal, GlobalRead, RecordedEvent, StreamRead
from eventsourcing_kit.stores.dynamodb._client import Calls
from eventsourcing_kit.stores.dynamodb._items import (
    BUCKET,
    GLOBAL_LOG,
    Item,
    category_bucket,
    event_id_key,
    from_event_item,
    from_log_item,
    indexer_key,
    stream_key,
)

__all__ = ["IndexWait", "events_by_id", "read_global", "read_stream", "watermark"]

INDEXER_NAME = "global"
# Past this many event types a filter expression would pass DynamoDB's
# operand limits: the types are then filtered here instead.
_MAX_FILTER_TYPES = 50


async def watermark(calls: Calls) -> int:
    """The last global position the indexer committed (0: none yet)."""
    response = await calls(
        "get_item",
        TableName=calls.location.table,
        Key=indexer_key(INDEXER_NAME),
        ConsistentRead=True,
        ProjectionExpression="np",
    )
    item = response.get("Item")
    return int(item["np"]["N"]) - 1 if item else 0


class IndexWait:
    """Waits until the indexer gave a stored event its global position.

    An append returns only then (its result names the position), and a
    reader that meets an event still being indexed waits for it. `recent`
    answers from this process's own indexer without a request when it can.
    """

    def __init__(
        self,
        calls: Calls,
        signal: AppendSignal,
        recent: Callable[[str, int], int | None],
        active: Callable[[], bool],
        *,
        timeout: float,
        poll_interval: float,
    ) -> None:
        self._calls = calls
        self._signal = signal
        self._recent = recent
        self._active = active
        self._timeout = timeout
        self._poll = poll_interval

    async def position(self, stream_id: str, version: int) -> int:
        """The event's global position, once it has one."""
        deadline = time.monotonic() + self._timeout
        delay = self._poll / 8
        ask_at = time.monotonic() + (self._poll if self._active() else 0.0)
        while True:
            known = self._recent(stream_id, version)
            if known is not None:
                return known
            now = time.monotonic()
            if now >= ask_at:
                response = await self._calls(
                    "get_item",
                    TableName=self._calls.location.table,
                    Key=stream_key(stream_id, version),
                    ConsistentRead=True,
                    ProjectionExpression="gp",
                )
                item = response.get("Item") or {}
                if "gp" in item:
                    return int(item["gp"]["N"])
                # While this process's indexer is active, its signal and
                # memory answer first; the table is asked now and then in
                # case the lease moved to another process.
                ask_at = time.monotonic() + (4 * self._poll if self._active() else delay)
                delay = min(delay * 2, self._poll)
            if now > deadline:
                raise self._not_indexed(stream_id, version)
            await self._signal.wait(min(self._poll / 8, max(0.0, deadline - now)))

    async def item(self, stream_id: str, version: int) -> Item:
        deadline = time.monotonic() + self._timeout
        delay = self._poll / 8
        while True:
            known = self._recent(stream_id, version)
            response = await self._calls(
                "get_item",
                TableName=self._calls.location.table,
                Key=stream_key(stream_id, version),
                ConsistentRead=True,
            )
            item: Item | None = response.get("Item")
            if item is not None and ("gp" in item or known is not None):
                if "gp" not in item:
                    item["gp"] = {"N": str(known)}
                return item
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise self._not_indexed(stream_id, version)
            await self._signal.wait(min(delay, remaining))
            delay = min(delay * 2, self._poll)

    def _not_indexed(self, stream_id: str, version: int) -> TransientStoreError:
        return TransientStoreError(
            f"event {version} of stream {stream_id!r} is stored but the indexer has not "
            f"given it a global position within {self._timeout} s: is an indexer running "
            "(a store opened with indexer=True, the default)? Retrying the append with "
            "the same event ids returns its result once it is indexed. If every indexer "
            "was down for longer than the stream's 24-hour retention, run "
            f"`eventsourcing-kit reindex --url {self._calls.location.url()}`"
        )


async def read_stream(
    calls: Calls, request: StreamRead, waiter: IndexWait
) -> AsyncIterator[RecordedEvent]:
    stream_id = request.stream_id
    start = request.from_version
    while True:
        response = await calls(
            "query",
            TableName=calls.location.table,
            KeyConditionExpression="pk = :pk AND sk >= :from",
            ExpressionAttributeValues={
                ":pk": stream_key(stream_id)["pk"],
                ":from": {"N": str(start)},
            },
            ConsistentRead=True,
            Limit=request.batch_size,
        )
        items: list[Item] = response.get("Items", [])
        for item in items:
            if "gp" not in item:
                item = await waiter.item(stream_id, int(item["sk"]["N"]))
            yield from_event_item(item)
        if not items or "LastEvaluatedKey" not in response:
            return
        start = int(items[-1]["sk"]["N"]) + 1


def _filter(request: GlobalRead) -> tuple[str | None, dict[str, Any]]:
    clauses: list[str] = []
    values: dict[str, Any] = {}
    types = request.event_types
    if types is not None and len(types) <= _MAX_FILTER_TYPES:
        names = [f":t{index}" for index in range(len(types))]
        values.update({name: {"S": value} for name, value in zip(names, types, strict=True)})
        clauses.append(f"t IN ({', '.join(names)})" if names else "t = :none")
        if not names:
            values[":none"] = {"NULL": True}
    return (" AND ".join(clauses) or None), values


async def read_global(calls: Calls, request: GlobalRead) -> AsyncIterator[RecordedEvent]:
    high = await watermark(calls)
    wanted = None if request.event_types is None else frozenset(request.event_types)
    condition, filter_values = _filter(request)
    position = int(request.after)
    while position < high:
        bucket = (position + 1) // BUCKET
        upper = min(high, (bucket + 1) * BUCKET - 1)
        # A category is read from its own log, which holds its events only.
        partition = (
            f"{GLOBAL_LOG}{bucket}"
            if request.category is None
            else category_bucket(request.category, bucket)
        )
        params: dict[str, Any] = {
            "TableName": calls.location.table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":pk": {"S": partition},
                ":lo": {"N": str(position + 1)},
                ":hi": {"N": str(upper)},
                **filter_values,
            },
            "ConsistentRead": True,
            "Limit": request.batch_size,
        }
        if condition is not None:
            params["FilterExpression"] = condition
        while True:
            response = await calls("query", **params)
            for item in response.get("Items", []):
                if wanted is None or item["t"]["S"] in wanted:
                    yield from_log_item(item)
            if "LastEvaluatedKey" not in response:
                break
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        position = upper


async def events_by_id(
    calls: Calls, event_ids: Sequence[UUID], waiter: IndexWait
) -> Mapping[UUID, RecordedEvent]:
    table = calls.location.table
    places: dict[UUID, tuple[str, int]] = {}
    for start in range(0, len(event_ids), 100):
        keys = [event_id_key(event_id) for event_id in event_ids[start : start + 100]]
        while keys:
            response = await calls(
                "batch_get_item", RequestItems={table: {"Keys": keys, "ConsistentRead": True}}
            )
            for item in response.get("Responses", {}).get(table, []):
                places[UUID(item["pk"]["S"][2:])] = (item["s"]["S"], int(item["v"]["N"]))
            keys = response.get("UnprocessedKeys", {}).get(table, {}).get("Keys", [])
    items = await asyncio.gather(*(waiter.item(*place) for place in places.values()))
    return {event_id: from_event_item(item) for event_id, item in zip(places, items, strict=True)}
