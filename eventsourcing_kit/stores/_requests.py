"""The values that cross the driver interface: typed requests and outcomes.

Frozen and checked by the core before a driver sees them (`_driver`).
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypeAlias

import attrs

from eventsourcing_kit.stores._partitions import Partition
from eventsourcing_kit.stores._records import AppendResult, ExpectedVersion, NewEvent, Position

__all__ = [
    "AppendOutcome",
    "AppendRequest",
    "Appended",
    "Capabilities",
    "CheckpointFenced",
    "CheckpointOutcome",
    "CheckpointSaved",
    "GlobalRead",
    "PreparedEvent",
    "Rejected",
    "StreamRead",
    "StreamWrite",
    "StreamsRead",
]


class PreparedEvent(NamedTuple):
    """A checked new event with its data and metadata encoded as JSON bytes.

    A named tuple rather than an attrs class: one is made per event of every
    append, and a tuple is the cheapest immutable value Python builds.
    """

    event: NewEvent
    data: bytes
    metadata: bytes


@attrs.frozen(slots=True)
class StreamWrite:
    """The events to add to one stream, and the version the writer expects of it."""

    stream_id: str
    expected: int | ExpectedVersion
    events: tuple[PreparedEvent, ...]


@attrs.frozen(slots=True)
class AppendRequest:
    """One atomic append: every write commits, or none does.

    `writes` name distinct streams, and no event id appears twice among
    them. `session` is the backend's own transaction handle that the caller
    asked the append to join (an ``asyncpg.Connection`` on PostgreSQL), or
    None: the driver then commits the append on its own.
    """

    writes: tuple[StreamWrite, ...]
    session: Any = None


@attrs.frozen(slots=True)
class Appended:
    """Everything was written; one result per write, in the request's order."""

    results: tuple[AppendResult, ...]


@attrs.frozen(slots=True)
class Rejected:
    """Nothing was written.

    `index` is the write whose expected version did not hold, or one of
    whose event ids is stored already (a driver need not tell the two
    apart: the core looks the ids up and decides). `actual` is that stream's
    version when the driver knows it, else None (the core asks for it).
    `session_aborted` says the failure aborted the caller's transaction
    (`AppendRequest.session`), which the core then tells the caller.
    """

    index: int
    actual: int | None = None
    session_aborted: bool = False


AppendOutcome: TypeAlias = Appended | Rejected


@attrs.frozen(slots=True)
class CheckpointSaved:
    """The conditional checkpoint write stored the new position."""


@attrs.frozen(slots=True)
class CheckpointFenced:
    """Nothing was stored: the stored checkpoint is `actual`, not the one expected.

    `actual` is None when the subscription has no checkpoint stored.
    """

    actual: Position | None


CheckpointOutcome: TypeAlias = CheckpointSaved | CheckpointFenced
"""What `Driver.save_checkpoint_if` reports: a lost race is an outcome, not an error."""


@attrs.frozen(slots=True)
class StreamRead:
    """Read one stream from `from_version` (inclusive), in pages of `batch_size`."""

    stream_id: str
    from_version: int
    batch_size: int


@attrs.frozen(slots=True)
class GlobalRead:
    """Read the global order after `after` (exclusive), in pages of `batch_size`.

    `category` None reads every stream; `event_types` None every type;
    `partition` None every partition, else only the streams of that
    `Partition` (a driver whose `Capabilities.partition_filter` is False
    never gets one: the core filters for it).
    """

    after: Position
    category: str | None
    event_types: tuple[str, ...] | None
    batch_size: int
    partition: Partition | None = None


@attrs.frozen(slots=True)
class StreamsRead:
    """List the streams that hold events, in pages of `batch_size`.

    `category` None lists every stream, else only the streams of that category.
    """

    category: str | None
    batch_size: int


@attrs.frozen(slots=True, kw_only=True)
class Capabilities:
    """What a backend can and cannot do, as plain flags.

    The contract suite reads these, never the backend's name, to shape its
    tests to a backend's documented limits.
    """

    max_events_per_append: int | None = None
    """The most events one append (all its streams together) may carry; None: no
    limit of the backend's own."""
    partition_filter: bool = False
    """True when `Driver.read_global` filters by `GlobalRead.partition` where the
    events are stored, by the rule of `partition_of`; False: the core reads
    every event and filters them itself."""
