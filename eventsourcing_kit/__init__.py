"""eventsourcing-kit: event-sourced domain models for asyncio.

The public API is re-exported here; everything else is private.
"""

from typing import TYPE_CHECKING

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
    NewEvent,
    Position,
    RecordedEvent,
    Snapshot,
    StreamAppend,
    connect,
)
from eventsourcing_kit.stores.memory import MemoryEventStore
from eventsourcing_kit.stores.sqlite import SQLiteEventStore
from eventsourcing_kit.subscriptions import (
    HandlerContext,
    Projection,
    RetryPolicy,
    Subscription,
    SubscriptionRunner,
    SubscriptionStatus,
    consumer_group,
    handles,
    subscribe,
)

if TYPE_CHECKING:
    from eventsourcing_kit.stores.postgres import PostgresEventStore, migrate

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
    "PostgresEventStore",
    "Projection",
    "RecordedEvent",
    "Repository",
    "RetryPolicy",
    "SQLiteEventStore",
    "Snapshot",
    "StateCodec",
    "StreamAppend",
    "Subscription",
    "SubscriptionRunner",
    "SubscriptionStatus",
    "Upcaster",
    "connect",
    "consumer_group",
    "event_type",
    "handles",
    "make_converter",
    "migrate",
    "subscribe",
]


def __getattr__(name: str) -> object:
    # The PostgreSQL backend needs the optional asyncpg: import it on first use
    # so that `import eventsourcing_kit` works without the postgres extra.
    if name == "PostgresEventStore":
        from eventsourcing_kit.stores.postgres import PostgresEventStore

        return PostgresEventStore
    if name == "migrate":
        from eventsourcing_kit.stores.postgres import migrate

        return migrate
    raise AttributeError(f"module 'eventsourcing_kit' has no attribute {name!r}")
