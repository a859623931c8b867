"""The SQLite backend (``sqlite:///path.db``): the embedded default."""

from eventsourcing_kit.stores.sqlite._store import SQLiteEventStore

__all__ = ["SQLiteEventStore"]
