"""Checks every backend makes before it writes, and the retry rule they share."""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, NoReturn
from uuid import UUID

from eventsourcing_kit.errors import (
    InvalidEventError,
    InvalidExpectedVersionError,
    InvalidInputError,
    InvalidStreamIdError,
)
from eventsourcing_kit.serialization import encode_json as dumps
from eventsourcing_kit.serialization import storable_json_all
from eventsourcing_kit.stores._driver import PreparedEvent, StreamWrite
from eventsourcing_kit.stores._position import MAX_INT64
from eventsourcing_kit.stores._records import ExpectedVersion, NewEvent, Snapshot, StreamAppend

__all__ = [
    "MAX_INT64",
    "MAX_NAME_LENGTH",
    "check_lease",
    "encode_snapshot",
    "prepare_appends",
    "prepare_events",
    "prepare_write",
    "validate_batch_size",
    "validate_category",
    "validate_event_types",
    "validate_expected_version",
    "validate_from_version",
    "validate_stream_id",
    "validate_subscription_id",
]

MAX_NAME_LENGTH = 255
# Builds a PreparedEvent from a 3-tuple without the named tuple's
# Python-level __new__: one is made per event of every append.
_tuple_new = tuple.__new__


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


def validate_expected_version(expected_version: object) -> int | ExpectedVersion:
    """Return `expected_version` if valid, else raise `InvalidExpectedVersionError`."""
    if isinstance(expected_version, ExpectedVersion):
        return expected_version
    if isinstance(expected_version, bool) or not isinstance(expected_version, int):
        raise InvalidExpectedVersionError(expected_version)
    if not 0 <= expected_version <= MAX_INT64:
        raise InvalidExpectedVersionError(expected_version)
    return expected_version


def prepare_write(stream_id: object, events: object, expected_version: object) -> StreamWrite:
    """Check one stream's append and encode its events: raises before any I/O."""
    expected = validate_expected_version(expected_version)
    prepared = prepare_events(events)
    if isinstance(expected, int) and expected > MAX_INT64 - len(prepared):
        raise InvalidInputError(
            f"expected_version={expected} leaves no room for {len(prepared)} more event(s): "
            f"a stream's version is at most {MAX_INT64} (2**63 - 1)"
        )
    return StreamWrite(stream_id=validate_stream_id(stream_id), expected=expected, events=prepared)


def prepare_appends(appends: object) -> tuple[StreamWrite, ...]:
    """Check the appends of one multi-stream append (`EventStore.append_many`)."""
    if isinstance(appends, StreamAppend) or not isinstance(appends, Iterable):
        raise InvalidInputError(
            f"append_many takes a list of StreamAppend, got {type(appends).__name__}"
        )
    if isinstance(appends, str | bytes | Mapping | set | frozenset):
        raise InvalidInputError(
            f"append_many takes a list of StreamAppend (in order), got {type(appends).__name__}"
        )
    writes: list[StreamWrite] = []
    streams: set[str] = set()
    event_ids: set[UUID] = set()
    for index, append in enumerate(appends):
        if not isinstance(append, StreamAppend):
            raise InvalidInputError(
                f"appends[{index}] is a {type(append).__name__}, expected a StreamAppend"
            )
        write = prepare_write(append.stream_id, append.events, append.expected_version)
        if write.stream_id in streams:
            raise InvalidInputError(
                f"stream {write.stream_id!r} appears twice in one append_many; put its "
                "events in one StreamAppend"
            )
        streams.add(write.stream_id)
        for prepared in write.events:
            if prepared.event.event_id in event_ids:
                raise InvalidEventError(
                    f"event id {prepared.event.event_id} appears twice in one append"
                )
            event_ids.add(prepared.event.event_id)
        writes.append(write)
    if not writes:
        raise InvalidInputError("append_many needs at least one StreamAppend")
    return tuple(writes)


def prepare_events(events: object) -> tuple[PreparedEvent, ...]:
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
    payloads: list[Any] = []  # each event's data, then its metadata
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
        payloads.append(_as_dict(event.data, index, "data"))
        payloads.append(_as_dict(event.metadata, index, "metadata"))
    encoded = storable_json_all(payloads)
    if encoded is None:
        _refuse(batch, payloads)
    return tuple(
        _tuple_new(PreparedEvent, (event, encoded[2 * index], encoded[2 * index + 1]))
        for index, event in enumerate(batch)
    )


def _refuse(batch: list[object], payloads: list[Any]) -> NoReturn:
    # Some payload is refused: find the first and say what is wrong with it.
    for index, event in enumerate(batch):
        assert isinstance(event, NewEvent)
        dumps(payloads[2 * index], what=f"data of event {event.event_type!r}")
        dumps(payloads[2 * index + 1], what=f"metadata of event {event.event_type!r}")
    raise AssertionError(  # pragma: no cover - both apply storable_json's rule
        "storable_json_all refused payloads that dumps accepts"
    )


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
    if (
        isinstance(from_version, bool)
        or not isinstance(from_version, int)
        or not 1 <= from_version <= MAX_INT64
    ):
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
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= MAX_INT64:
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


_MAX_OWNER_LENGTH = 255


def check_lease(name: object, owner: object, ttl: object = 1.0) -> tuple[str, str, float]:
    """The checked arguments of a lease call, or `InvalidInputError`."""
    checked = validate_subscription_id(name)
    if (
        not isinstance(owner, str)
        or not owner
        or len(owner) > _MAX_OWNER_LENGTH
        or not owner.isprintable()
    ):
        raise InvalidInputError(
            f"invalid lease owner {owner!r}: pass a printable string of 1 to "
            f"{_MAX_OWNER_LENGTH} characters that names this runner"
        )
    if (
        isinstance(ttl, bool)
        or not isinstance(ttl, int | float)
        or not math.isfinite(ttl)
        or ttl <= 0
    ):
        raise InvalidInputError(f"invalid lease ttl {ttl!r}: pass seconds > 0")
    return checked, owner, float(ttl)
