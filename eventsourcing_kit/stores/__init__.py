"""Event stores: the protocol, the records that cross it, and the backends."""

from eventsourcing_kit.stores._base import CheckpointTransaction, EventStore
from eventsourcing_kit.stores._connect import connect
from eventsourcing_kit.stores._records import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    Position,
    RecordedEvent,
    Snapshot,
)
from eventsourcing_kit.stores.memory import MemoryEventStore
from eventsourcing_kit.stores.sqlite import SQLiteEventStore

__all__ = [
    "AppendResult",
    "CheckpointTransaction",
    "EventStore",
    "ExpectedVersion",
    "MemoryEventStore",
    "NewEvent",
    "Position",
    "RecordedEvent",
    "SQLiteEventStore",
    "Snapshot",
    "connect",
]
