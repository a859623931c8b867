"""`MemoryEventStore`: the core `EventStore` on the memory driver."""

from __future__ import annotations

from eventsourcing_kit.stores.driver import EventStore
from eventsourcing_kit.stores.memory._driver import MemoryDriver

__all__ = ["MemoryEventStore"]


class MemoryEventStore(EventStore):
    """An event store held in this process's memory (``memory://``).

    The reference behaviour for tests and examples: everything is gone when
    the process ends.
    """

    def __init__(self) -> None:
        super().__init__(MemoryDriver())
