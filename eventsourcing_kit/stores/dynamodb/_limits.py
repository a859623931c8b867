"""DynamoDB's request limits, checked before an append is sent.

An append over a limit would fail inside DynamoDB with a bare
ValidationException, after the caller had been made to wait; here it is
rejected up front with the limit named and what to do about it.
"""

from __future__ import annotations

from eventsourcing_kit.errors import InvalidEventError, InvalidInputError
from eventsourcing_kit.stores.driver import StreamWrite
from eventsourcing_kit.stores.dynamodb._items import event_item, item_size

__all__ = [
    "GUARANTEED_EVENTS_PER_APPEND",
    "MAX_ITEM_BYTES",
    "MAX_TRANSACTION_ACTIONS",
    "MAX_TRANSACTION_BYTES",
    "actions_of",
    "check_append",
    "check_item",
]

MAX_TRANSACTION_ACTIONS = 100
MAX_TRANSACTION_BYTES = 4 * 1024 * 1024
MAX_ITEM_BYTES = 400 * 1024

GUARANTEED_EVENTS_PER_APPEND = 33
"""Events that fit one append however they are spread over its streams: each
stream costs one action and each event two, and a stream has at least one
event, so 3 x 33 <= 100. One stream alone takes up to 49."""

# The log copies of an event add the stream id, category and version, and
# the event item gains its global position: room for them is kept.
_COPY_OVERHEAD = 64


def actions_of(writes: tuple[StreamWrite, ...]) -> int:
    """The transaction's actions: each stream's head item, each event and its id record."""
    return sum(1 + 2 * len(write.events) for write in writes)


def check_item(size: int, what: str) -> None:
    if size > MAX_ITEM_BYTES:
        raise InvalidEventError(
            f"{what} is {size} bytes as a DynamoDB item, over DynamoDB's item size limit of "
            f"{MAX_ITEM_BYTES} bytes (400 KB): store large payloads elsewhere (S3) and keep a "
            "reference in the event"
        )


def check_append(writes: tuple[StreamWrite, ...]) -> None:
    """Raise when the append cannot be one DynamoDB transaction."""
    actions = actions_of(writes)
    if actions > MAX_TRANSACTION_ACTIONS:
        raise InvalidInputError(
            f"this append needs {actions} DynamoDB transaction actions (one per stream, two per "
            f"event: the event and its id record), over DynamoDB's limit of "
            f"{MAX_TRANSACTION_ACTIONS} actions per transaction: append at most "
            f"{(MAX_TRANSACTION_ACTIONS - 1) // 2} events to one stream at once"
        )
    total = 0
    for write in writes:
        margin = 2 * len(write.stream_id.encode()) + _COPY_OVERHEAD
        for prepared in write.events:
            size = item_size(event_item(write.stream_id, 1, prepared, 0)) + margin
            check_item(size, f"event {prepared.event.event_id} of stream {write.stream_id!r}")
            total += size + 64
        total += 64 + len(write.stream_id.encode())
    if total > MAX_TRANSACTION_BYTES:
        raise InvalidInputError(
            f"this append is about {total} bytes as DynamoDB items, over DynamoDB's limit of "
            f"{MAX_TRANSACTION_BYTES} bytes (4 MB) per transaction: split it into smaller appends"
        )
