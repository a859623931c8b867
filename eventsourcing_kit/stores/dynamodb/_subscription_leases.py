"""Subscription leases: conditional writes on one item per lease, in one partition.

Every lease item lives in the partition ``R#``, at a sort key hashed from
the lease's name, so that `lease_holders` is one Query of that partition
(DynamoDB cannot list partitions by a key prefix without a Scan of the
whole table). An item holds the name ``n``, the owner ``o``, the expiry
``ex`` (wall-clock milliseconds), the epoch ``ep`` (a fencing token: it goes
up each time the lease changes hands, never on a renewal) and when the
owner took it, ``at``.

DynamoDB has no server clock to compare with: the expiry is written and
compared by the runners' own clocks. What keeps a subscription exactly-once
when clocks disagree (a standby that takes the lease early) is not the
lease but the fenced checkpoint, a condition in the same commit as the
work; docs/dynamodb.md, "Subscription leases", says how far clocks may drift.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from eventsourcing_kit.stores.driver import LeaseGranted, LeaseOutcome, LeaseRefused
from eventsourcing_kit.stores.dynamodb._client import Calls, Canceled
from eventsourcing_kit.stores.dynamodb._items import RUNNER_LEASE, Item

__all__ = ["acquire_lease", "lease_holders", "lease_key", "release_lease"]


def lease_key(name: str) -> Item:
    """The key of lease `name`: 96 bits of its SHA-256 as the sort key.

    Two names sharing a key is as likely as a random 96-bit collision; the
    conditions also compare the name, so even then neither runner could take
    the other's lease (one would be refused, never both granted).
    """
    digest = hashlib.sha256(name.encode()).digest()[:12]
    return {"pk": {"S": RUNNER_LEASE}, "sk": {"N": str(int.from_bytes(digest, "big"))}}


def _now_ms() -> int:
    return int(time.time() * 1000)


async def _update(calls: Calls, name: str, **params: Any) -> Item | None:
    """None when the update was made; the item as it was when its condition failed
    (an empty dict when there was none)."""
    try:
        await calls(
            "update_item",
            TableName=calls.location.table,
            Key=lease_key(name),
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
            **params,
        )
    except Canceled as canceled:
        old: Item = canceled.reasons[0].get("Item") or {}
        return old
    return None


async def acquire_lease(calls: Calls, name: str, owner: str, ttl: float) -> LeaseOutcome:
    """Renew the lease when `owner` holds it, else take it when free or expired.

    Two conditional updates at most: the renewal keeps the epoch; a take,
    on the condition that nobody holds the lease unexpired, bumps it.
    """
    now = _now_ms()
    expires = {":ex": {"N": str(now + max(1, round(ttl * 1000)))}}
    mine = {":me": {"S": owner}, ":name": {"S": name}}
    old = await _update(
        calls,
        name,
        UpdateExpression="SET ex = :ex",
        ConditionExpression="o = :me AND n = :name",
        ExpressionAttributeValues={**mine, **expires},
    )
    if old is None:
        return LeaseGranted()
    if old and int(old["ex"]["N"]) > now:
        return LeaseRefused(await _holder(calls, name, old))
    old = await _update(
        calls,
        name,
        UpdateExpression=(
            "SET n = :name, o = :me, ex = :ex, #at = :now, ep = if_not_exists(ep, :zero) + :one"
        ),
        ConditionExpression="attribute_not_exists(pk) OR (n = :name AND ex <= :now)",
        ExpressionAttributeNames={"#at": "at"},
        ExpressionAttributeValues={
            **mine,
            **expires,
            ":now": {"N": str(now)},
            ":zero": {"N": "0"},
            ":one": {"N": "1"},
        },
    )
    if old is None:
        return LeaseGranted()
    # Taken by another owner between the two updates (or a name whose key
    # another name's holds).
    return LeaseRefused(await _holder(calls, name, old))


async def _holder(calls: Calls, name: str, old: Item) -> str:
    """The owner in the item a failed condition returned, read again if it returned none."""
    if "o" not in old:
        response = await calls(
            "get_item", TableName=calls.location.table, Key=lease_key(name), ConsistentRead=True
        )
        old = response.get("Item") or {}
    return str(old["o"]["S"]) if "o" in old else ""


async def release_lease(calls: Calls, name: str, owner: str) -> None:
    """Expire the lease now if `owner` holds it; the item (and its epoch) stays."""
    await _update(
        calls,
        name,
        UpdateExpression="SET ex = :zero",
        ConditionExpression="o = :me AND n = :name",
        ExpressionAttributeValues={
            ":me": {"S": owner},
            ":name": {"S": name},
            ":zero": {"N": "0"},
        },
    )


async def lease_holders(calls: Calls, prefix: str) -> dict[str, str]:
    """The unexpired leases whose names start with `prefix`: one Query of ``R#``."""
    params: dict[str, Any] = {
        "TableName": calls.location.table,
        "KeyConditionExpression": "pk = :pk",
        "FilterExpression": "ex > :now" + (" AND begins_with(n, :prefix)" if prefix else ""),
        "ExpressionAttributeValues": {
            ":pk": {"S": RUNNER_LEASE},
            ":now": {"N": str(_now_ms())},
            **({":prefix": {"S": prefix}} if prefix else {}),
        },
        "ProjectionExpression": "n, o",
        "ConsistentRead": True,
    }
    holders: dict[str, str] = {}
    while True:
        response = await calls("query", **params)
        for item in response.get("Items", []):
            holders[item["n"]["S"]] = item["o"]["S"]
        if "LastEvaluatedKey" not in response:
            return holders
        params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
