"""One append as one ``TransactWriteItems``: the items, the conditions, the outcome.

Per stream, the transaction updates the head item (sort key 0) on the
condition that its version is the one the writer based its events on, puts
each event at its version and puts one record per event id on the
condition that none exists. DynamoDB runs the conditions and the writes
atomically: of concurrent writers expecting one version, one commits and
the others are cancelled with ``ConditionalCheckFailed``. The id records
make retries idempotent forever, not for the ten minutes of a request token.
"""

from __future__ import annotations

import asyncio
from typing import Any

import attrs

from eventsourcing_kit.stores.driver import (
    ExpectedVersion,
    Rejected,
    StreamWrite,
    expected_version_holds,
)
from eventsourcing_kit.stores.dynamodb._client import Calls
from eventsourcing_kit.stores.dynamodb._items import event_id_key, event_item, stream_key

__all__ = [
    "Retry",
    "base_version",
    "classify",
    "read_bases",
    "read_version",
    "transaction",
]


@attrs.frozen
class Retry:
    """A stream the writer read moved before the write: read it again and retry."""


def base_version(write: StreamWrite, read: int | None) -> int | None:
    """The version the write's events follow: the expected one, or the one read."""
    if isinstance(write.expected, int):
        return write.expected
    if write.expected is ExpectedVersion.NO_STREAM:
        return 0
    return read


def needs_read(write: StreamWrite) -> bool:
    """ANY and STREAM_EXISTS name no version: the head must be read first."""
    return write.expected in (ExpectedVersion.ANY, ExpectedVersion.STREAM_EXISTS)


async def read_version(calls: Calls, stream_id: str) -> int:
    """The stream's version, from its head item (0: no such stream)."""
    response = await calls(
        "get_item",
        TableName=calls.location.table,
        Key=stream_key(stream_id),
        ConsistentRead=True,
        ProjectionExpression="v",
    )
    item = response.get("Item")
    return int(item["v"]["N"]) if item else 0


async def read_bases(calls: Calls, writes: tuple[StreamWrite, ...]) -> list[int | None]:
    """The version of each stream whose write names none (None for the others)."""

    async def read(write: StreamWrite) -> int | None:
        return await read_version(calls, write.stream_id) if needs_read(write) else None

    return list(await asyncio.gather(*(read(write) for write in writes)))


async def first_rejected(
    calls: Calls, writes: tuple[StreamWrite, ...], read: list[int | None]
) -> Rejected:
    """The rejection of the first of `writes` whose expected version fails.

    For an append known to fail before it is sent (its last write expects a
    stream that does not exist): an earlier write may fail too, and the
    conflict names the first stream in the caller's order, as on every
    backend. `read` holds the versions read already; the others are read now.
    """
    for index, write in enumerate(writes):
        seen = read[index]
        actual = await read_version(calls, write.stream_id) if seen is None else seen
        if not expected_version_holds(write.expected, actual):
            return Rejected(index, actual)
    raise AssertionError("first_rejected takes writes whose last expectation fails")


def _head(table: str, stream_id: str, base: int, version: int) -> dict[str, Any]:
    update: dict[str, Any] = {
        "TableName": table,
        "Key": stream_key(stream_id),
        "UpdateExpression": "SET v = :v",
        "ExpressionAttributeValues": {":v": {"N": str(version)}},
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }
    if base == 0:
        update["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        update["ConditionExpression"] = "v = :base"
        update["ExpressionAttributeValues"][":base"] = {"N": str(base)}
    return {"Update": update}


def transaction(
    table: str, writes: tuple[StreamWrite, ...], bases: list[int], recorded_at: int
) -> list[dict[str, Any]]:
    """The actions of the append: per write, its head, its events, its id records."""
    actions: list[dict[str, Any]] = []
    absent = "attribute_not_exists(pk)"
    for write, base in zip(writes, bases, strict=True):
        actions.append(_head(table, write.stream_id, base, base + len(write.events)))
        for offset, prepared in enumerate(write.events, start=1):
            item = event_item(write.stream_id, base + offset, prepared, recorded_at)
            actions.append(
                {"Put": {"TableName": table, "Item": item, "ConditionExpression": absent}}
            )
        for offset, prepared in enumerate(write.events, start=1):
            record = {
                **event_id_key(prepared.event.event_id),
                "s": {"S": write.stream_id},
                "v": {"N": str(base + offset)},
            }
            actions.append(
                {"Put": {"TableName": table, "Item": record, "ConditionExpression": absent}}
            )
    return actions


def classify(
    reasons: list[dict[str, Any]], writes: tuple[StreamWrite, ...]
) -> Rejected | Retry | None:
    """What a cancelled append means; None when no condition of it failed."""
    owners: list[tuple[int, str]] = []
    for index, write in enumerate(writes):
        owners.append((index, "head"))
        owners.extend((index, "event") for _ in write.events)
        owners.extend((index, "id") for _ in write.events)
    failed = [
        (owners[position], reason)
        for position, reason in enumerate(reasons)
        if reason.get("Code") == "ConditionalCheckFailed"
    ]
    # A stored event id first: the core then tells a retry from a duplicate.
    for (index, kind), _ in failed:
        if kind == "id":
            return Rejected(index)
    for (index, kind), reason in failed:
        if needs_read(writes[index]):
            return Retry()
        if kind != "head":
            return Rejected(index)
        # The head's old image: no item means the stream does not exist.
        item = reason.get("Item") or {}
        return Rejected(index, int(item["v"]["N"]) if "v" in item else 0)
    return None
