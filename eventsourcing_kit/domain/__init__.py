"""The domain model: aggregates, event types and their history. attrs only, no I/O."""

from eventsourcing_kit.domain._aggregate import Aggregate
from eventsourcing_kit.domain._events import EventTypeInfo, Upcaster, event_type, event_type_info
from eventsourcing_kit.domain._registry import EventRegistry

__all__ = [
    "Aggregate",
    "EventRegistry",
    "EventTypeInfo",
    "Upcaster",
    "event_type",
    "event_type_info",
]
