"""Snapshots and subscription checkpoints: one item each, under their own prefixes.

A conditional checkpoint put (`save_checkpoint_if`) fences a runner that
fell behind; its condition is shared with the checkpoint transactions that
commit read-model writes (`_read_models`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eventsourcing_kit.serialization import decode_json
from eventsourcing_kit.stores.driver import (
    CheckpointFenced,
    CheckpointOutcome,
    CheckpointSaved,
    Position,
    Snapshot,
)
from eventsourcing_kit.stores.dynamodb._client import Calls, Canceled
from eventsourcing_kit.stores.dynamodb._items import (
    checkpoint_key,
    item_size,
    micros,
    snapshot_key,
)
from eventsourcing_kit.stores.dynamodb._limits import check_item

__all__ = [
    "checkpoint_condition",
    "delete_checkpoint",
    "load_checkpoint",
    "load_snapshot",
    "save_checkpoint",
    "save_checkpoint_if",
    "save_snapshot",
]


async def save_snapshot(calls: Calls, snapshot: Snapshot, data: bytes) -> None:
    """Keep `snapshot` unless a later version is kept: a conditional put."""
    item = {
        **snapshot_key(snapshot.stream_id),
        "v": {"N": str(snapshot.version)},
        "sc": {"S": snapshot.state_schema},
        "d": {"B": data},
        "ra": {"N": str(micros(datetime.now(UTC)))},
    }
    check_item(item_size(item), f"the snapshot of stream {snapshot.stream_id!r}")
    try:
        await calls(
            "put_item",
            TableName=calls.location.table,
            Item=item,
            ConditionExpression="attribute_not_exists(pk) OR v <= :v",
            ExpressionAttributeValues={":v": item["v"]},
        )
    except Canceled:
        return  # a later snapshot is kept


async def load_snapshot(calls: Calls, stream_id: str) -> Snapshot | None:
    response = await calls(
        "get_item",
        TableName=calls.location.table,
        Key=snapshot_key(stream_id),
        ConsistentRead=True,
    )
    item = response.get("Item")
    if item is None:
        return None
    return Snapshot(
        stream_id=stream_id,
        version=int(item["v"]["N"]),
        state_schema=item["sc"]["S"],
        data=decode_json(item["d"]["B"]),
        recorded_at=datetime.fromtimestamp(int(item["ra"]["N"]) / 1_000_000, UTC),
    )


async def load_checkpoint(calls: Calls, subscription_id: str) -> Position | None:
    response = await calls(
        "get_item",
        TableName=calls.location.table,
        Key=checkpoint_key(subscription_id),
        ConsistentRead=True,
    )
    item = response.get("Item")
    return None if item is None else Position(int(item["p"]["N"]))


async def save_checkpoint(calls: Calls, subscription_id: str, position: Position) -> None:
    await calls(
        "put_item",
        TableName=calls.location.table,
        Item={**checkpoint_key(subscription_id), "p": {"N": str(int(position))}},
    )


async def save_checkpoint_if(
    calls: Calls, subscription_id: str, position: Position, *, expected: Position | None
) -> CheckpointOutcome:
    """Store `position` only where the stored checkpoint is `expected`: one conditional put."""
    try:
        await calls(
            "put_item",
            TableName=calls.location.table,
            Item={**checkpoint_key(subscription_id), "p": {"N": str(int(position))}},
            **checkpoint_condition(expected),
        )
    except Canceled:
        return CheckpointFenced(await load_checkpoint(calls, subscription_id))
    return CheckpointSaved()


def checkpoint_condition(expected: Position | None) -> dict[str, Any]:
    """The condition of a checkpoint put that the stored checkpoint is `expected`."""
    if expected is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "p = :expected",
        "ExpressionAttributeValues": {":expected": {"N": str(int(expected))}},
    }


async def delete_checkpoint(calls: Calls, subscription_id: str) -> None:
    await calls("delete_item", TableName=calls.location.table, Key=checkpoint_key(subscription_id))
