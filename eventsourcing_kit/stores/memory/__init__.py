"""The in-memory backend (``memory://``): the reference behaviour, for tests.

`MemoryDriver` is public so that tests can subclass it to inject faults
(``EventStore(MyFaultyDriver())``).
"""

from eventsourcing_kit.stores.memory._driver import MemoryDriver
from eventsourcing_kit.stores.memory._store import MemoryEventStore

__all__ = ["MemoryDriver", "MemoryEventStore"]
