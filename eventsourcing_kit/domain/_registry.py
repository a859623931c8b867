"""Which event classes a stream can hold, looked up by their stored names."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from eventsourcing_kit.domain._events import EventTypeInfo, check_event_class, event_type_info
from eventsourcing_kit.errors import ConfigurationError, UnknownEventTypeError

__all__ = ["EventRegistry"]


class EventRegistry:
    """Maps stored event names (current names and aliases) to event classes.

    Built from an explicit list of classes: usually an aggregate's
    `event_types`. Nothing is registered globally.
    """

    def __init__(self, event_classes: Iterable[type] = ()) -> None:
        self._by_name: dict[str, type] = {}
        self._info: dict[type, EventTypeInfo] = {}
        for cls in event_classes:
            self.add(cls)

    def add(self, cls: type) -> None:
        """Make `cls` known under its name and its aliases.

        `ConfigurationError` unless `cls` is a frozen attrs class.
        """
        if cls in self._info:
            return
        check_event_class(cls)
        info = event_type_info(cls)
        for name in (info.name, *info.aliases):
            taken = self._by_name.get(name)
            if taken is not None and taken is not cls:
                raise ConfigurationError(
                    f"event name {name!r} is claimed by both {taken.__qualname__} and "
                    f"{cls.__qualname__}; give one of them another name with @event_type"
                )
            self._by_name[name] = cls
        self._info[cls] = info

    def info(self, cls: type) -> EventTypeInfo:
        """The stored name and schema version of a known event class."""
        try:
            return self._info[cls]
        except KeyError:
            raise ConfigurationError(
                f"{cls.__qualname__} is not an event type of this registry; list it in the "
                "aggregate's `event_types`"
            ) from None

    def resolve(
        self, name: str, *, stream_id: str | None = None, version: int | None = None
    ) -> type:
        """The class stored under `name`, or `UnknownEventTypeError`."""
        try:
            return self._by_name[name]
        except KeyError:
            raise UnknownEventTypeError(name, stream_id=stream_id, version=version) from None

    def __contains__(self, cls: object) -> bool:
        return cls in self._info

    def __iter__(self) -> Iterator[type]:
        return iter(self._info)

    def __len__(self) -> int:
        return len(self._info)
