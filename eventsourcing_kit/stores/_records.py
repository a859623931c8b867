"""The values that cross the store boundary: what is written, what is read back."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import attrs

from eventsourcing_kit.stores._position import Position

__all__ = [
    "AppendResult",
    "ExpectedVersion",
    "NewEvent",
    "Position",
    "RecordedEvent",
    "Snapshot",
    "StreamAppend",
    "StreamInfo",
]


class ExpectedVersion(enum.Enum):
    """What a writer expects of a stream, besides an exact version number."""

    ANY = "any"
    """No check: append after whatever is there."""
    NO_STREAM = "no_stream"
    """The stream must not exist yet (the same as the exact version 0)."""
    STREAM_EXISTS = "stream_exists"
    """The stream must already hold at least one event."""

    def __repr__(self) -> str:
        return f"ExpectedVersion.{self.name}"

    __str__ = __repr__


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return {} if value is None else value


@attrs.frozen(slots=True)
class NewEvent:
    """An event to append: its type name, JSON data, metadata and unique id.

    Metadata conventionally carries ``correlation_id`` and ``causation_id``
    beside free user keys. Give a retried append the same `event_id` and the
    store recognises it (idempotent writes).
    """

    event_type: str
    data: Mapping[str, Any]
    metadata: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)
    event_id: UUID = attrs.field(factory=uuid4)


@attrs.frozen(slots=True)
class StreamAppend:
    """One stream's part of a multi-stream append (`EventStore.append_many`)."""

    stream_id: str
    events: Sequence[NewEvent]
    expected_version: int | ExpectedVersion = ExpectedVersion.ANY


@attrs.frozen(slots=True, kw_only=True)
class RecordedEvent:
    """An event as stored: its place in its stream and in the global order.

    `position` is its place in the global order, to resume after (see
    `Position`). It is made from `global_position` and, on a backend whose
    global order is not the order of `global_position` alone (PostgreSQL),
    the ordering number the backend stored with it (`ordering`), when it is
    asked for: a reader of many events builds none it does not use.
    """

    stream_id: str
    version: int
    event_type: str
    data: Mapping[str, Any]
    metadata: Mapping[str, Any]
    event_id: UUID
    global_position: int
    recorded_at: datetime
    _ordering: int | None = attrs.field(default=None, repr=False)

    @property
    def position(self) -> Position:
        """The resume token after this event, for `read_all`, `read_category`
        and subscriptions."""
        if self._ordering is None:
            return _int_new(Position, self.global_position)
        return Position.pair(self._ordering, self.global_position)

    @property
    def category(self) -> str:
        """The part of the stream id before the first ``-``."""
        return self.stream_id.partition("-")[0]

    @classmethod
    def from_stored(
        cls,
        stream_id: str,
        version: int,
        event_type: str,
        data: Mapping[str, Any],
        metadata: Mapping[str, Any],
        event_id: UUID,
        global_position: int,
        ordering: int | None,
        recorded_at: datetime,
    ) -> RecordedEvent:
        """The event a backend read back from its storage, built without
        attrs' ``__init__``.

        For read paths that build one per stored row: a frozen class's
        ``__init__`` goes through ``object.__setattr__`` for each field; this
        sets the slots directly, which costs less per row. The result is an
        ordinary (frozen) `RecordedEvent`, equal to one built by the
        constructor from the same values.
        """
        event = _new_object(cls)
        _set_stream_id(event, stream_id)
        _set_version(event, version)
        _set_event_type(event, event_type)
        _set_data(event, data)
        _set_metadata(event, metadata)
        _set_event_id(event, event_id)
        _set_global_position(event, global_position)
        _set_ordering(event, ordering)
        _set_recorded_at(event, recorded_at)
        return event


def _slot_setter(name: str) -> Any:
    # The slot's descriptor sets it without the frozen class's __setattr__.
    return RecordedEvent.__dict__[name].__set__


_new_object = object.__new__
_set_stream_id = _slot_setter("stream_id")
_set_version = _slot_setter("version")
_set_event_type = _slot_setter("event_type")
_set_data = _slot_setter("data")
_set_metadata = _slot_setter("metadata")
_set_event_id = _slot_setter("event_id")
_set_global_position = _slot_setter("global_position")
_set_ordering = _slot_setter("_ordering")
_int_new = int.__new__
_set_recorded_at = _slot_setter("recorded_at")


@attrs.frozen(slots=True, kw_only=True)
class AppendResult:
    """What an append did: the stream's version after it, and where it ended."""

    stream_id: str
    version: int
    global_position: int
    position: Position


@attrs.frozen(slots=True, kw_only=True)
class Snapshot:
    """One stream's state at a version, kept to shorten replay.

    `state_schema` names the shape of `data`; a reader whose class has another
    shape ignores the snapshot and replays the events instead.
    """

    stream_id: str
    version: int
    state_schema: str
    data: Mapping[str, Any]
    recorded_at: datetime | None = None


@attrs.frozen(slots=True, kw_only=True)
class StreamInfo:
    """One stream as `EventStore.list_streams` lists it.

    `version` is the stream's current version, which is also its number of
    events: versions start at 1 and events are never deleted.
    """

    stream_id: str
    version: int

    @property
    def category(self) -> str:
        """The part of the stream id before the first ``-``."""
        return self.stream_id.partition("-")[0]
