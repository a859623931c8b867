"""The SQLite backend (``sqlite:///path.db``): the embedded default."""

from eventsourcing_kit.stores.sqlite._migrations import migrate
from eventsourcing_kit.stores.sqlite._setup import path_from_url
from eventsourcing_kit.stores.sqlite._store import SQLiteEventStore

__all__ = ["SQLiteEventStore", "migrate", "path_from_url"]
