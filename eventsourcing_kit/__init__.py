"""eventsourcing-kit: event-sourced domain models for asyncio.

The public API is re-exported here; everything else is private.
"""

from eventsourcing_kit.errors import (
    AggregateNotFound,
    ConcurrencyError,
    EventSourcingError,
)
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
    connect,
)

__all__ = [
    "AggregateNotFound",
    "AppendResult",
    "CheckpointTransaction",
    "ConcurrencyError",
    "EventSourcingError",
    "EventStore",
    "ExpectedVersion",
    "MemoryEventStore",
    "NewEvent",
    "Position",
    "RecordedEvent",
    "Snapshot",
    "connect",
]
