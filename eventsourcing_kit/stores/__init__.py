"""Event stores: the contract core, the records that cross it, and `connect`.

Each backend is a subpackage with a public face of its own:
`eventsourcing_kit.stores.memory`, `.sqlite` and `.postgres`. Backend authors
find the driver interface in `eventsourcing_kit.stores.driver`.
"""

from eventsourcing_kit.stores._connect import ConnectOptions, connect
from eventsourcing_kit.stores._leases import LeaseGranted, LeaseOutcome, LeaseRefused
from eventsourcing_kit.stores._partitions import Partition, partition_of
from eventsourcing_kit.stores._position import MAX_INT64, Position
from eventsourcing_kit.stores._records import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    RecordedEvent,
    Snapshot,
    StreamAppend,
    StreamInfo,
)
from eventsourcing_kit.stores._store import DEFAULT_BATCH_SIZE, CheckpointTransaction, EventStore
from eventsourcing_kit.stores._validation import (
    MAX_NAME_LENGTH,
    validate_batch_size,
    validate_category,
    validate_event_types,
    validate_stream_id,
    validate_subscription_id,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "MAX_INT64",
    "MAX_NAME_LENGTH",
    "AppendResult",
    "CheckpointTransaction",
    "ConnectOptions",
    "EventStore",
    "ExpectedVersion",
    "LeaseGranted",
    "LeaseOutcome",
    "LeaseRefused",
    "NewEvent",
    "Partition",
    "Position",
    "RecordedEvent",
    "Snapshot",
    "StreamAppend",
    "StreamInfo",
    "connect",
    "partition_of",
    "validate_batch_size",
    "validate_category",
    "validate_event_types",
    "validate_stream_id",
    "validate_subscription_id",
]
