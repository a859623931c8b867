"""Transitional: the pre-driver helpers the PostgreSQL store still uses.

Removed when the PostgreSQL store becomes a driver of the core.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeAlias
from uuid import UUID

import orjson

from eventsourcing_kit.errors import (
    ConcurrencyError,
    DuplicateEventError,
    InvalidEventError,
    InvalidExpectedVersionError,
    InvalidInputError,
    InvalidStreamIdError,
)
from eventsourcing_kit.serialization import decode_json as loads
from eventsourcing_kit.serialization import encode_json as dumps
from eventsourcing_kit.stores._records import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    Snapshot,
)

__all__ = [
    "MAX_NAME_LENGTH",
    "EncodedEvent",
    "Expected",
    "check_expected_version",
    "encode_events",
    "encode_snapshot",
    "resolve_retry",
    "validate_batch_size",
    "validate_category",
    "validate_event_types",
    "validate_expected_version",
    "validate_from_version",
    "validate_int_position",
    "validate_stream_id",
    "validate_subscription_id",
]

MAX_NAME_LENGTH = 255
Expected: TypeAlias = int | ExpectedVersion

EncodedEvent: TypeAlias = tuple[NewEvent, bytes, bytes]
"""A validated new event with its data and metadata as JSON bytes."""


def validate_stream_id(stream_id: object) -> str:
    """Return `stream_id` if it is a valid stream id, else raise `InvalidStreamIdError`."""
    if not isinstance(stream_id, str):
        raise InvalidStreamIdError(stream_id, f"expected a str, got {type(stream_id).__name__}")
    if not stream_id:
        raise InvalidStreamIdError(stream_id, "it is empty")
    if len(stream_id) > MAX_NAME_LENGTH:
        raise InvalidStreamIdError(stream_id[:40] + "...", f"it has {len(stream_id)} characters")
    if _has_control_characters(stream_id):
        raise InvalidStreamIdError(stream_id, "it holds control characters")
    return stream_id


def validate_category(category: object) -> str:
    """A category is a non-empty printable name without ``-``."""
    if not isinstance(category, str) or not category or "-" in category:
        raise InvalidInputError(
            f"invalid category {category!r}: a category is the part of a stream id before "
            "its first '-', so it is a non-empty string without '-'"
        )
    validate_stream_id(category)
    return category


def validate_event_types(event_types: object) -> tuple[str, ...] | None:
    """Normalise an event-type filter: None (all types) or a tuple of names."""
    if event_types is None:
        return None
    if isinstance(event_types, str):
        raise InvalidInputError(
            f"event_types={event_types!r} is a single string; pass a collection of type names, "
            f"e.g. [{event_types!r}]"
        )
    if not isinstance(event_types, Iterable):
        raise InvalidInputError(
            f"event_types must be a collection of type names, got {event_types!r}"
        )
    names = tuple(event_types)
    for name in names:
        _check_type_name(name)
    return names


def validate_expected_version(expected_version: object) -> Expected:
    """Return `expected_version` if valid, else raise `InvalidExpectedVersionError`."""
    if isinstance(expected_version, ExpectedVersion):
        return expected_version
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise InvalidExpectedVersionError(expected_version)
    if expected_version < 0:
        raise InvalidExpectedVersionError(expected_version)
    return expected_version


def check_expected_version(stream_id: str, expected: Expected, actual: int) -> None:
    """Raise `ConcurrencyError` unless a stream at `actual` satisfies `expected`."""
    if expected is ExpectedVersion.ANY:
        return
    if expected is ExpectedVersion.NO_STREAM:
        ok = actual == 0
    elif expected is ExpectedVersion.STREAM_EXISTS:
        ok = actual > 0
    else:
        ok = actual == expected
    if not ok:
        raise ConcurrencyError(stream_id, expected=expected, actual=actual)


def encode_events(events: object) -> list[EncodedEvent]:
    """Validate a batch of new events and encode their payloads.

    Raises before anything is written: the batch is checked whole.
    """
    batch: list[object]
    if type(events) is list:
        batch = events  # the common case, spared the checks below; only read
    else:
        if isinstance(events, NewEvent):
            raise InvalidEventError("pass a list of NewEvent, not a single NewEvent")
        if not isinstance(events, Iterable) or isinstance(events, str | bytes | Mapping):
            raise InvalidEventError(f"events must be a list of NewEvent, got {events!r}")
        if isinstance(events, set | frozenset):
            raise InvalidEventError(
                "events must be in order (a list or tuple), got an unordered set"
            )
        batch = list(events)
    if not batch:
        raise InvalidEventError("an append needs at least one event")
    seen: set[UUID] = set()
    encoded: list[EncodedEvent] = []
    for index, event in enumerate(batch):
        if not isinstance(event, NewEvent):
            raise InvalidEventError(
                f"events[{index}] is a {type(event).__name__}, expected a NewEvent"
            )
        _check_type_name(event.event_type)
        if not isinstance(event.event_id, UUID):
            raise InvalidEventError(f"events[{index}].event_id must be a UUID")
        if event.event_id in seen:
            raise InvalidEventError(f"event id {event.event_id} appears twice in one append")
        seen.add(event.event_id)
        data = _dump(event, index, "data")
        metadata = _dump(event, index, "metadata")
        encoded.append((event, data, metadata))
    return encoded


def _dump(event: NewEvent, index: int, field: str) -> bytes:
    value = event.data if field == "data" else event.metadata
    if type(value) is dict:
        try:
            # What `dumps` does, its error message built only when needed.
            encoded = orjson.dumps(value)
        except TypeError:
            pass  # let dumps raise its SerializationError
        else:
            if b"null" not in encoded:
                return encoded
    return dumps(_as_dict(value, index, field), what=f"{field} of event {event.event_type!r}")


def _as_dict(value: object, index: int, field: str) -> dict[str, Any]:
    # orjson encodes exact dicts only; any other mapping is copied into one.
    if isinstance(value, dict):
        return value
    if isinstance(value, Mapping):
        return dict(value)
    raise InvalidEventError(
        f"events[{index}].{field} must be a dict (a JSON object), got {type(value).__name__}"
    )


def _has_control_characters(text: str) -> bool:
    # isprintable() also refuses spaces other than " " (a no-break space, say):
    # only control characters and lone surrogates are ruled out, so look closer.
    return not text.isprintable() and any(
        unicodedata.category(char) in ("Cc", "Cs") for char in text
    )


def resolve_retry(
    stream_id: str,
    events: Sequence[EncodedEvent],
    expected: Expected,
    stored: Sequence[RecordedEvent | None],
) -> AppendResult | None:
    """Decide what an append whose event ids may already be stored means.

    `stored[i]` is the stored event with the id of `events[i]`, or None. When
    none is stored, the append is new: return None. When all are stored, in
    this stream, in this order and at the versions this append would have
    given them, with the same content, it is a retry of an append whose reply
    was lost: return that append's result. Anything else is an error.
    """
    if all(record is None for record in stored):
        return None
    first = stored[0]
    for index, ((event, data, metadata), record) in enumerate(zip(events, stored, strict=True)):
        if record is None:
            raise DuplicateEventError(
                _some_id(stored),
                stream_id=stream_id,
                detail="only part of this batch is stored",
            )
        if record.stream_id != stream_id:
            raise DuplicateEventError(
                event.event_id,
                stream_id=stream_id,
                detail=f"it is stored in stream {record.stream_id!r}",
            )
        assert first is not None
        if record.version != first.version + index:
            raise DuplicateEventError(
                event.event_id, stream_id=stream_id, detail="the batch is stored in another order"
            )
        if (
            record.event_type != event.event_type
            or record.data != loads(data)
            or record.metadata != loads(metadata)
        ):
            raise DuplicateEventError(
                event.event_id,
                stream_id=stream_id,
                detail=f"the stored event at version {record.version} has other content",
            )
    assert first is not None
    before = first.version - 1
    if expected is ExpectedVersion.NO_STREAM:
        retry_matches = before == 0
    elif expected is ExpectedVersion.STREAM_EXISTS:
        retry_matches = before > 0
    elif expected is ExpectedVersion.ANY:
        retry_matches = True
    else:
        retry_matches = before == expected
    if not retry_matches:
        raise DuplicateEventError(
            first.event_id,
            stream_id=stream_id,
            detail=f"it was stored after version {before}, this append expected {expected}",
        )
    last = stored[-1]
    assert last is not None
    return AppendResult(
        stream_id=stream_id,
        version=last.version,
        global_position=last.global_position,
        position=last.position,
    )


def _some_id(stored: Sequence[RecordedEvent | None]) -> UUID:
    return next(record.event_id for record in stored if record is not None)


def _check_type_name(name: Any) -> None:
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_LENGTH:
        raise InvalidEventError(
            f"invalid event type {name!r}: an event type is a non-empty string of at most "
            f"{MAX_NAME_LENGTH} characters"
        )
    if _has_control_characters(name):
        raise InvalidEventError(f"invalid event type {name!r}: it holds control characters")


def validate_from_version(from_version: object) -> int:
    """Stream versions start at 1."""
    if isinstance(from_version, bool) or not isinstance(from_version, int) or from_version < 1:
        raise InvalidInputError(
            f"invalid from_version {from_version!r}: versions start at 1 (pass 1 for the "
            "whole stream)"
        )
    return from_version


def validate_batch_size(batch_size: object) -> int:
    """A page size is a positive int."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidInputError(f"invalid batch_size {batch_size!r}: pass a positive int")
    return batch_size


def validate_int_position(position: object) -> int:
    """Positions of backends whose insert order is their commit order: ints >= 0."""
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise InvalidInputError(
            f"invalid position {position!r} for this store: pass None or the `position` of "
            "an event read from it"
        )
    return position


def validate_subscription_id(subscription_id: object) -> str:
    """Subscription ids follow the rules of stream ids."""
    if (
        not isinstance(subscription_id, str)
        or not subscription_id
        or len(subscription_id) > MAX_NAME_LENGTH
        or _has_control_characters(subscription_id)
    ):
        raise InvalidInputError(
            f"invalid subscription id {subscription_id!r}: use a printable string of 1 to "
            f"{MAX_NAME_LENGTH} characters"
        )
    return subscription_id


def encode_snapshot(snapshot: object) -> bytes:
    """Check a snapshot before it is stored and return its data as JSON bytes."""
    if not isinstance(snapshot, Snapshot):
        raise InvalidInputError(f"expected a Snapshot, got {type(snapshot).__name__}")
    validate_stream_id(snapshot.stream_id)
    version = snapshot.version
    if isinstance(version, bool) or not isinstance(version, int) or version < 0:
        raise InvalidInputError(
            f"invalid snapshot version {version!r}: pass the stream version it was taken at"
        )
    if not isinstance(snapshot.state_schema, str):
        raise InvalidInputError(
            f"invalid snapshot state_schema {snapshot.state_schema!r}: pass a str"
        )
    data = snapshot.data
    if not isinstance(data, Mapping):
        raise InvalidInputError(
            f"snapshot data must be a dict (a JSON object), got {type(data).__name__}"
        )
    return dumps(data if isinstance(data, dict) else dict(data), what="snapshot data")
