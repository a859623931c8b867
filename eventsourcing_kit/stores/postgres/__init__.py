"""The PostgreSQL backend (``postgresql://``), on asyncpg: the production store.

Importing it needs the ``postgres`` extra (asyncpg).
"""

from eventsourcing_kit.stores.postgres._connect import split_schema
from eventsourcing_kit.stores.postgres._migrations import DEFAULT_SCHEMA, migrate
from eventsourcing_kit.stores.postgres._notify import channel_for
from eventsourcing_kit.stores.postgres._queries import quote_identifier
from eventsourcing_kit.stores.postgres._store import PostgresEventStore

__all__ = [
    "DEFAULT_SCHEMA",
    "PostgresEventStore",
    "channel_for",
    "migrate",
    "quote_identifier",
    "split_schema",
]
