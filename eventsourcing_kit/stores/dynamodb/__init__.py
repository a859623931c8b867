"""The DynamoDB backend (``dynamodb://table?endpoint_url=...&region=...``): one table,
conditional transactions, a global order built from the table's stream. Needs the
``dynamodb`` extra (aioboto3)."""

from eventsourcing_kit.stores.dynamodb._client import Credentials
from eventsourcing_kit.stores.dynamodb._location import Location, location_from_url
from eventsourcing_kit.stores.dynamodb._migrations import migrate, table_definition
from eventsourcing_kit.stores.dynamodb._read_models import MAX_READ_MODEL_ACTIONS, ReadModelWrites
from eventsourcing_kit.stores.dynamodb._reindex import Reindexed
from eventsourcing_kit.stores.dynamodb._shards import ready_shards
from eventsourcing_kit.stores.dynamodb._store import DynamoDBEventStore

__all__ = [
    "MAX_READ_MODEL_ACTIONS",
    "Credentials",
    "DynamoDBEventStore",
    "Location",
    "ReadModelWrites",
    "Reindexed",
    "location_from_url",
    "migrate",
    "ready_shards",
    "table_definition",
]
