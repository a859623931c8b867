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
from eventsourcing_kit.subscriptions import (
    HandlerContext,
    Projection,
    RetryPolicy,
    Subscription,
    SubscriptionRunner,
    SubscriptionStatus,
    consumer_group,
    handles,
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
    "HandlerContext",
    "MemoryEventStore",
    "NewEvent",
    "Position",
    "Projection",
    "RecordedEvent",
    "Repository",
    "RetryPolicy",
    "SQLiteEventStore",
    "Snapshot",
    "StateCodec",
    "Subscription",
    "SubscriptionRunner",
    "SubscriptionStatus",
    "Upcaster",
    "connect",
    "consumer_group",
    "event_type",
    "handles",
    "make_converter",
]
