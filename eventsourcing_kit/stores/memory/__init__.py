"""The in-memory backend (``memory://``): the reference behaviour, for tests."""

from eventsourcing_kit.stores.memory._store import MemoryEventStore

__all__ = ["MemoryEventStore"]
