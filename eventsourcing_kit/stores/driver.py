"""The interface a backend implements, for backend authors.

A backend is a `Driver`: wrap it in the core `EventStore` (or a subclass
that adds the backend's own options) and prove it with
`eventsourcing_kit.testing.StoreContract`. See docs/writing-a-backend.md.
Everything here is public and stable within a minor version.
"""

from eventsourcing_kit.stores._ddl import sql_files, store_file
from eventsourcing_kit.stores._driver import (
    Appended,
    AppendOutcome,
    AppendRequest,
    Capabilities,
    CheckpointFenced,
    CheckpointOutcome,
    CheckpointSaved,
    Driver,
    DriverTransaction,
    GlobalRead,
    PreparedEvent,
    Rejected,
    StreamRead,
    StreamsRead,
    StreamWrite,
    nested_transaction_error,
)
from eventsourcing_kit.stores._leases import LeaseGranted, LeaseOutcome, LeaseRefused
from eventsourcing_kit.stores._migrations import (
    Migration,
    load_migrations,
    migrations_of,
    pending_migrations,
)
from eventsourcing_kit.stores._partitions import Partition, partition_of
from eventsourcing_kit.stores._position import MAX_INT64, position_of
from eventsourcing_kit.stores._records import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    Position,
    RecordedEvent,
    Snapshot,
    StreamAppend,
    StreamInfo,
)
from eventsourcing_kit.stores._rules import expected_version_holds
from eventsourcing_kit.stores._signal import AppendSignal
from eventsourcing_kit.stores._store import CheckpointTransaction, EventStore
from eventsourcing_kit.stores._urls import redact_url, split_schema
from eventsourcing_kit.stores._validation import prepare_appends, prepare_write

__all__ = [
    "MAX_INT64",
    "AppendOutcome",
    "AppendRequest",
    "AppendResult",
    "AppendSignal",
    "Appended",
    "Capabilities",
    "CheckpointFenced",
    "CheckpointOutcome",
    "CheckpointSaved",
    "CheckpointTransaction",
    "Driver",
    "DriverTransaction",
    "EventStore",
    "ExpectedVersion",
    "GlobalRead",
    "LeaseGranted",
    "LeaseOutcome",
    "LeaseRefused",
    "Migration",
    "NewEvent",
    "Partition",
    "Position",
    "PreparedEvent",
    "RecordedEvent",
    "Rejected",
    "Snapshot",
    "StreamAppend",
    "StreamInfo",
    "StreamRead",
    "StreamWrite",
    "StreamsRead",
    "expected_version_holds",
    "load_migrations",
    "migrations_of",
    "nested_transaction_error",
    "partition_of",
    "pending_migrations",
    "position_of",
    "prepare_appends",
    "prepare_write",
    "redact_url",
    "split_schema",
    "sql_files",
    "store_file",
]
