"""The table's items: one key prefix per kind, and events to and from items.

Every item has a string partition key ``pk`` and a number sort key ``sk``.
A stream's events live in one partition (``E#`` + stream id) at their
versions, so one Query reads a stream in order; its head item (sort key 0)
holds its version, the one item a writer's condition checks. The other
kinds each have a prefix of their own (see docs/dynamodb.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing_kit.serialization import decode_json
from eventsourcing_kit.stores.driver import PreparedEvent, RecordedEvent

__all__ = [
    "BUCKET",
    "CHECKPOINT",
    "EVENT",
    "RUNNER_LEASE",
    "Item",
    "category_log_item",
    "checkpoint_key",
    "event_id_key",
    "event_item",
    "global_log_item",
    "log_key",
    "micros",
    "recorded_event",
    "snapshot_key",
    "stream_key",
]

Item = dict[str, Any]
"""An item in DynamoDB's typed form: ``{"pk": {"S": "..."}, "sk": {"N": "1"}, ...}``."""

EVENT = "E#"
EVENT_ID = "I#"
SNAPSHOT = "S#"
CHECKPOINT = "C#"
LEASE = "L#"
RUNNER_LEASE = "R#"
INDEXER = "X#"
GLOBAL_LOG = "G#"
CATEGORY_LOG = "K#"

BUCKET = 4096
"""Global positions per global-log partition: a reader pages through one
partition at a time, and the log never grows one partition without bound."""


def key(prefix: str, name: str, sort: int = 0) -> Item:
    return {"pk": {"S": prefix + name}, "sk": {"N": str(sort)}}


def stream_key(stream_id: str, version: int = 0) -> Item:
    """A stream's event at `version`, or (0) its head item."""
    return key(EVENT, stream_id, version)


def event_id_key(event_id: UUID) -> Item:
    return key(EVENT_ID, str(event_id))


def snapshot_key(stream_id: str) -> Item:
    return key(SNAPSHOT, stream_id)


def checkpoint_key(subscription_id: str) -> Item:
    return key(CHECKPOINT, subscription_id)


def lease_key(name: str) -> Item:
    return key(LEASE, name)


def indexer_key(name: str) -> Item:
    return key(INDEXER, name)


def log_key(position: int) -> Item:
    return key(GLOBAL_LOG, str(position // BUCKET), position)


def category_bucket(category: str, bucket: int) -> str:
    """The partition key of one category's log over one bucket of positions.

    A bucket number holds no ``#``, so no two (category, bucket) pairs share a key.
    """
    return f"{CATEGORY_LOG}{category}#{bucket}"


def category_log_key(category: str, position: int) -> Item:
    return {
        "pk": {"S": category_bucket(category, position // BUCKET)},
        "sk": {"N": str(position)},
    }


def micros(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def event_item(stream_id: str, version: int, prepared: PreparedEvent, recorded_at: int) -> Item:
    """The item of one new event (no global position yet: the indexer adds it)."""
    event = prepared.event
    return {
        **stream_key(stream_id, version),
        "t": {"S": event.event_type},
        "d": {"B": prepared.data},
        "m": {"B": prepared.metadata},
        "i": {"S": str(event.event_id)},
        "ra": {"N": str(recorded_at)},
    }


def global_log_item(event: Item, stream_id: str, position: int) -> Item:
    """The global log's copy of a stored event at `position`."""
    return _log_copy(log_key(position), event, stream_id)


def category_log_item(event: Item, stream_id: str, position: int) -> Item:
    """The category log's copy of a stored event at `position`."""
    key = category_log_key(stream_id.partition("-")[0], position)
    return _log_copy(key, event, stream_id)


def _log_copy(key: Item, event: Item, stream_id: str) -> Item:
    return {
        **key,
        "s": {"S": stream_id},
        "v": event["sk"],
        "t": event["t"],
        "d": event["d"],
        "m": event["m"],
        "i": event["i"],
        "ra": event["ra"],
    }


def stream_of(item: Item) -> str:
    """The stream id of an event item (its partition key without the prefix)."""
    return str(item["pk"]["S"])[len(EVENT) :]


def is_event_key(keys: Mapping[str, Any]) -> bool:
    return str(keys["pk"]["S"]).startswith(EVENT) and int(keys["sk"]["N"]) > 0


def recorded_event(item: Item, *, stream_id: str, version: int, position: int) -> RecordedEvent:
    """A stored event, from its item (in the stream or in the global log)."""
    return RecordedEvent.from_stored(
        stream_id,
        version,
        item["t"]["S"],
        decode_json(item["d"]["B"]),
        decode_json(item["m"]["B"]),
        UUID(item["i"]["S"]),
        position,
        None,
        datetime.fromtimestamp(int(item["ra"]["N"]) / 1_000_000, UTC),
    )


def from_event_item(item: Item) -> RecordedEvent:
    """An indexed event from its item in its stream's partition."""
    return recorded_event(
        item,
        stream_id=stream_of(item),
        version=int(item["sk"]["N"]),
        position=int(item["gp"]["N"]),
    )


def from_log_item(item: Item) -> RecordedEvent:
    """An event from its copy in the global log."""
    return recorded_event(
        item,
        stream_id=item["s"]["S"],
        version=int(item["v"]["N"]),
        position=int(item["sk"]["N"]),
    )


def item_size(item: Item) -> int:
    """An upper bound of the item's size as DynamoDB counts it (names + values)."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    ((kind, content),) = value.items()
    if kind == "S":
        return len(str(content).encode())
    if kind == "B":
        return len(content)
    if kind == "N":
        # DynamoDB stores numbers in at most 21 bytes.
        return 21
    if kind == "M":
        return 3 + sum(
            len(name.encode()) + 1 + _value_size(inner) for name, inner in content.items()
        )
    if kind in ("L", "SS"):
        return 3 + sum(
            1 + (_value_size(inner) if kind == "L" else len(inner.encode())) for inner in content
        )
    return 1
