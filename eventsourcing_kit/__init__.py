"""eventsourcing-kit: event-sourced domain models for asyncio.

Everything an application uses is importable from here; the errors from
`eventsourcing_kit.errors`; what only a backend has (its store class,
migrations) from its subpackage (`eventsourcing_kit.stores.postgres`...),
and the driver interface for backend authors from
`eventsourcing_kit.stores.driver`. Everything else is private.
"""

from typing import TYPE_CHECKING

from eventsourcing_kit.domain import Aggregate, EventRegistry, Upcaster, event_type
from eventsourcing_kit.errors import (
    AggregateNotFound,
    ConcurrencyError,
    EventSourcingError,
)
from eventsourcing_kit.repository import Loaded, Repository
from eventsourcing_kit.serialization import EventCodec, StateCodec, make_converter
from eventsourcing_kit.stores import (
    AppendResult,
    CheckpointTransaction,
    ConnectOptions,
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
    GroupMember,
    HandlerContext,
    ParkedEvent,
    Projection,
    ReplayResult,
    RetryPolicy,
    Subscription,
    SubscriptionOptions,
    SubscriptionRunner,
    SubscriptionState,
    SubscriptionStatus,
    consumer_group,
    group_member,
    handles,
    rescale_consumer_group,
    subscribe,
)

if TYPE_CHECKING:
    from eventsourcing_kit.stores.postgres import PostgresEventStore, migrate

del TYPE_CHECKING  # imported for the block above only: not part of the API

__all__ = [
    "Aggregate",
    "AggregateNotFound",
    "AppendResult",
    "CheckpointTransaction",
    "ConcurrencyError",
    "ConnectOptions",
    "EventCodec",
    "EventRegistry",
    "EventSourcingError",
    "EventStore",
    "ExpectedVersion",
    "GroupMember",
    "HandlerContext",
    "Loaded",
    "MemoryEventStore",
    "NewEvent",
    "ParkedEvent",
    "Position",
    "PostgresEventStore",
    "Projection",
    "RecordedEvent",
    "ReplayResult",
    "Repository",
    "RetryPolicy",
    "SQLiteEventStore",
    "Snapshot",
    "StateCodec",
    "StreamAppend",
    "Subscription",
    "SubscriptionOptions",
    "SubscriptionRunner",
    "SubscriptionState",
    "SubscriptionStatus",
    "Upcaster",
    "__version__",
    "connect",
    "consumer_group",
    "event_type",
    "group_member",
    "handles",
    "make_converter",
    "migrate",
    "rescale_consumer_group",
    "subscribe",
]

__version__: str
"""The installed distribution's version (PEP 440), e.g. ``"0.1.0"``."""


def __getattr__(name: str) -> object:
    if name == "__version__":
        # Read on first use: importlib.metadata alone takes longer to import
        # than the rest of the kit.
        from importlib import metadata

        try:
            version = metadata.version("eventsourcing-kit")
        except metadata.PackageNotFoundError:  # pragma: no cover - a source tree
            version = "0+unknown"
        globals()["__version__"] = version
        return version
    # The PostgreSQL backend needs the optional asyncpg: import it on first use
    # so that `import eventsourcing_kit` works without the postgres extra.
    if name == "PostgresEventStore":
        from eventsourcing_kit.stores.postgres import PostgresEventStore

        return PostgresEventStore
    if name == "migrate":
        from eventsourcing_kit.stores.postgres import migrate

        return migrate
    raise AttributeError(f"module 'eventsourcing_kit' has no attribute {name!r}")


def __dir__() -> list[str]:
    # The lazy names too, and none of the module's own imports.
    return sorted(__all__)
