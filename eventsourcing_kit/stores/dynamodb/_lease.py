"""The indexer's lease: one item that names the active indexer until it expires.

Taking the lease bumps its epoch, a fencing token: every commit of the
indexer checks in the same transaction that the lease still names it at
its epoch, so an indexer that lost the lease (paused, partitioned) can no
longer write the global log, even if it does not know yet. Expiry is read
from the wall clock: lease holders' clocks must agree to well within the
lease's duration.
"""

from __future__ import annotations

import time
from typing import Any

import attrs

from eventsourcing_kit.stores.dynamodb._client import Calls, Canceled
from eventsourcing_kit.stores.dynamodb._items import lease_key

__all__ = ["Lease", "fence", "release_lease", "renew_lease", "seize_lease", "take_lease"]


@attrs.frozen
class Lease:
    """A held lease: who, at which epoch, until when (wall-clock milliseconds)."""

    name: str
    owner: str
    epoch: int
    expires_ms: int


def _now_ms() -> int:
    return int(time.time() * 1000)


async def _update(calls: Calls, update: dict[str, Any]) -> dict[str, Any] | None:
    """The lease item after a conditional update; None when the condition failed."""
    try:
        response = await calls(
            "update_item", TableName=calls.location.table, ReturnValues="ALL_NEW", **update
        )
    except Canceled:
        return None
    attributes: dict[str, Any] = response["Attributes"]
    return attributes


async def take_lease(calls: Calls, name: str, owner: str, ttl: float) -> Lease | None:
    """Take the lease when it is free, expired or already this owner's (a new
    epoch each time); None when another owner holds it."""
    now = _now_ms()
    expires = now + int(ttl * 1000)
    taken = await _update(
        calls,
        {
            "Key": lease_key(name),
            "UpdateExpression": "SET o = :me, ex = :ex, ep = if_not_exists(ep, :zero) + :one",
            # Its own lease too: an owner that lost track of its lease (an
            # error mid-pass) takes it again at once instead of waiting it out.
            "ConditionExpression": "attribute_not_exists(pk) OR ex < :now OR o = :me",
            "ExpressionAttributeValues": {
                ":me": {"S": owner},
                ":ex": {"N": str(expires)},
                ":now": {"N": str(now)},
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
            },
        },
    )
    if taken is None:
        return None
    return Lease(name, owner, int(taken["ep"]["N"]), int(taken["ex"]["N"]))


async def seize_lease(calls: Calls, name: str, owner: str, ttl: float) -> Lease:
    """Take the lease whoever holds it, at a new epoch: an operator's reindex.

    Safe while another indexer holds it: its next commit fails the fence
    and it stands by.
    """
    expires = _now_ms() + int(ttl * 1000)
    taken = await _update(
        calls,
        {
            "Key": lease_key(name),
            "UpdateExpression": "SET o = :me, ex = :ex, ep = if_not_exists(ep, :zero) + :one",
            "ExpressionAttributeValues": {
                ":me": {"S": owner},
                ":ex": {"N": str(expires)},
                ":zero": {"N": "0"},
                ":one": {"N": "1"},
            },
        },
    )
    assert taken is not None  # no condition: it cannot fail one
    return Lease(name, owner, int(taken["ep"]["N"]), int(taken["ex"]["N"]))


async def renew_lease(calls: Calls, lease: Lease, ttl: float) -> Lease | None:
    """Extend a held lease; None when it was lost (another indexer took it)."""
    expires = _now_ms() + int(ttl * 1000)
    renewed = await _update(
        calls,
        {
            "Key": lease_key(lease.name),
            "UpdateExpression": "SET ex = :ex",
            **_held(lease, {":ex": {"N": str(expires)}}),
        },
    )
    return None if renewed is None else attrs.evolve(lease, expires_ms=expires)


async def release_lease(calls: Calls, lease: Lease) -> None:
    """Let the lease expire now, so that a standby indexer takes over at once."""
    await _update(
        calls,
        {
            "Key": lease_key(lease.name),
            "UpdateExpression": "SET ex = :zero",
            **_held(lease, {":zero": {"N": "0"}}),
        },
    )


def _held(lease: Lease, values: dict[str, Any]) -> dict[str, Any]:
    return {
        "ConditionExpression": "o = :me AND ep = :ep",
        "ExpressionAttributeValues": {
            ":me": {"S": lease.owner},
            ":ep": {"N": str(lease.epoch)},
            **values,
        },
    }


def fence(table: str, lease: Lease) -> dict[str, Any]:
    """The transaction action that holds a commit to the lease (the fencing check)."""
    return {
        "ConditionCheck": {"TableName": table, "Key": lease_key(lease.name), **_held(lease, {})}
    }
