"""eventsourcing-kit: event-sourced domain models for asyncio.

The public API is re-exported here; everything else is private.
"""

from eventsourcing_kit.domain import Aggregate, EventRegistry, Upcaster, event_type
from eventsourcing_kit.errors import (
    AggregateNotFound,
    ConcurrencyError,
    EventSourcingError,
)
from eventsourcing_kit.repository import Repository
from eventsourcing_kit.serialization import EventCodec, StateCodec, make_converter
from eventsourcing_kit.stores import (
    AppendResult,
    CheckpointTransaction,
    EventStore,
    ExpectedVersion,
    MemoryEventStore,
    NewEvent,
    Position,
    RecordedEvent,
    Snapshot,
    SQLiteEventStore,
    connect,
)

__all__ = [
    "Aggregate",
    "AggregateNotFound",
    "AppendResult",
    "CheckpointTransaction",
    "ConcurrencyError",
    "EventCodec",
    "EventRegistry",
    "EventSourcingError",
    "EventStore",
    "ExpectedVersion",
    "MemoryEventStore",
    "NewEvent",
    "Position",
    "RecordedEvent",
    "Repository",
    "SQLiteEventStore",
    "Snapshot",
    "StateCodec",
    "Upcaster",
    "connect",
    "event_type",
    "make_converter",
]
