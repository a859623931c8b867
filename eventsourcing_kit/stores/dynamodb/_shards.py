"""The table's DynamoDB stream: its shards, read parents before children.

When DynamoDB splits a shard, a stream's later changes go to a child
shard; reading a child only after its parent is finished keeps every
stream's events in order across splits. A parent that is no longer listed
was trimmed (Streams keep records for 24 hours) and holds nothing to wait for.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any

from eventsourcing_kit.errors import StoreError
from eventsourcing_kit.stores.dynamodb._client import Calls

__all__ = ["Shards", "ready_shards", "stream_arn"]

# The listing is cached: describing the stream on every pass would cost a
# request per pass for a list that changes every few hours.
_LISTING_TTL = 5.0


async def stream_arn(calls: Calls) -> str:
    """The ARN of the table's stream; an error naming the fix when it has none."""
    response = await calls("describe_table", TableName=calls.location.table)
    table = response["Table"]
    spec = table.get("StreamSpecification") or {}
    arn = table.get("LatestStreamArn")
    if not spec.get("StreamEnabled") or not arn or spec.get("StreamViewType") == "KEYS_ONLY":
        raise StoreError(
            f"DynamoDB table {calls.location.table!r} has no stream with new images, which the "
            "global order is built from: enable it (StreamViewType NEW_IMAGE), or create the "
            f"table with `eventsourcing-kit migrate --url {calls.location.url()}`"
        )
    return str(arn)


def ready_shards(listed: list[dict[str, Any]], finished: Iterable[str]) -> list[str]:
    """The shards of a DescribeStream listing to read now: not finished, and
    whose parent is finished or no longer listed (trimmed)."""
    done = set(finished)
    ids = {shard["ShardId"] for shard in listed}
    ready = []
    for shard in listed:
        parent = shard.get("ParentShardId")
        if shard["ShardId"] in done:
            continue
        if parent is None or parent in done or parent not in ids:
            ready.append(str(shard["ShardId"]))
    return ready


class Shards:
    """The stream's shards, and an iterator for each shard being read."""

    def __init__(self, calls: Calls, arn: str, read_interval: float) -> None:
        self._calls = calls
        self._arn = arn
        self._read_interval = read_interval
        self._read_at: dict[str, float] = {}
        self._listed: list[dict[str, Any]] = []
        self._listed_at = float("-inf")
        self._iterators: dict[str, str | None] = {}

    def listed(self) -> set[str]:
        """The ids of the shards in the last listing."""
        return {str(shard["ShardId"]) for shard in self._listed}

    def forget_iterators(self) -> None:
        """Drop every iterator: reading resumes from the committed sequence numbers."""
        self._iterators.clear()

    async def ready(self, finished: Iterable[str], *, refresh: bool = False) -> list[str]:
        """The shards to read now: unfinished, with no unfinished parent."""
        if refresh or time.monotonic() - self._listed_at > _LISTING_TTL:
            self._listed = await self._list()
            self._listed_at = time.monotonic()
        return ready_shards(self._listed, finished)

    async def _list(self) -> list[dict[str, Any]]:
        shards: list[dict[str, Any]] = []
        params: dict[str, Any] = {"StreamArn": self._arn}
        while True:
            response = await self._calls.stream("describe_stream", **params)
            description = response["StreamDescription"]
            shards.extend(description.get("Shards", []))
            last = description.get("LastEvaluatedShardId")
            if not last:
                return shards
            params["ExclusiveStartShardId"] = last

    async def records(self, shard_id: str, after: str | None) -> tuple[list[dict[str, Any]], bool]:
        """The shard's next records after `after` (or its start), and whether it is finished."""
        iterator = self._iterators.get(shard_id, "")
        if iterator == "":
            iterator = await self._iterator(shard_id, after)
        if iterator is None:
            return [], True
        # AWS throttles a shard read more than five times a second; waiting
        # here is cheaper than a refused request and its backoff.
        wait = self._read_at.get(shard_id, float("-inf")) + self._read_interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._read_at[shard_id] = time.monotonic()
        try:
            response = await self._calls.stream("get_records", ShardIterator=iterator, Limit=1000)
        except StoreError:
            # An expired iterator (15 minutes) or a trimmed position: start
            # again from the committed sequence number on the next pass.
            self._iterators.pop(shard_id, None)
            raise
        following = response.get("NextShardIterator")
        self._iterators[shard_id] = following
        return list(response.get("Records", [])), following is None

    async def _iterator(self, shard_id: str, after: str | None) -> str | None:
        params: dict[str, Any] = {"StreamArn": self._arn, "ShardId": shard_id}
        if after is None:
            params["ShardIteratorType"] = "TRIM_HORIZON"
        else:
            params["ShardIteratorType"] = "AFTER_SEQUENCE_NUMBER"
            params["SequenceNumber"] = after
        response = await self._calls.stream("get_shard_iterator", **params)
        iterator = response.get("ShardIterator")
        return None if iterator is None else str(iterator)
