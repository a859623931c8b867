"""`Projection`: a subscription handler that dispatches typed events to methods."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Protocol, TypeVar

from eventsourcing_kit.domain import EventRegistry, event_type_info
from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.serialization import EventCodec, StoredEvent
from eventsourcing_kit.stores import RecordedEvent
from eventsourcing_kit.subscriptions._options import HandlerContext

__all__ = ["EventDecoder", "Projection", "handles"]

F = TypeVar("F", bound=Callable[..., Awaitable[None]])

_MARK = "__eventsourcing_projection_handles__"


class EventDecoder(Protocol):
    """Turns a stored event into its typed event object (`EventCodec` is one)."""

    def decode(self, stored: StoredEvent) -> object: ...


def handles(*event_classes: type) -> Callable[[F], F]:
    """Make a `Projection` method the handler of these event classes.

    The method is ``async def m(self, event, record)``: the typed event and
    its `RecordedEvent`; a transactional subscription passes a third argument,
    the `HandlerContext`.
    """
    if not event_classes or not all(isinstance(cls, type) for cls in event_classes):
        raise ConfigurationError(f"@handles takes one or more event classes, got {event_classes!r}")

    def mark(method: F) -> F:
        setattr(method, _MARK, (*getattr(method, _MARK, ()), *event_classes))
        return method

    return mark


class Projection:
    """A handler that decodes each event and calls the method for its type.

    ::

        class Balances(Projection):
            def __init__(self) -> None:
                super().__init__()
                self.balances: dict[str, int] = {}

            @handles(Deposited)
            async def deposited(self, event: Deposited, record: RecordedEvent) -> None:
                account = record.stream_id
                self.balances[account] = self.balances.get(account, 0) + event.amount

        balances = Balances()
        subscribe(store, "balances", balances, event_types=balances.event_types)

    Events of other types are ignored (pass `event_types` to the
    subscription so that the store does not even read them). The events are
    decoded with an `EventCodec` of the handled classes, so stored older
    schema versions arrive upcast; pass `codec` to use another converter.
    """

    _handlers: ClassVar[dict[type, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[type, str] = {}
        for klass in reversed(cls.__mro__):
            for name, member in vars(klass).items():
                for event_class in getattr(member, _MARK, ()):
                    handlers[event_class] = name
        cls._handlers = handlers

    def __init__(self, *, codec: EventDecoder | None = None) -> None:
        classes = list(type(self)._handlers)
        if not classes:
            raise ConfigurationError(
                f"{type(self).__qualname__} has no @handles methods: mark each event "
                "handler method with @handles(EventClass)"
            )
        self._codec: EventDecoder = EventCodec(EventRegistry(classes)) if codec is None else codec
        names: set[str] = set()
        for cls in classes:
            info = event_type_info(cls)
            names.update((info.name, *info.aliases))
        self._names = frozenset(names)

    @property
    def event_types(self) -> tuple[str, ...]:
        """The stored names (and aliases) of the event types it handles."""
        return tuple(sorted(self._names))

    async def __call__(self, record: RecordedEvent, context: HandlerContext | None = None) -> None:
        """Decode `record` and await the method for its type; ignore other types."""
        if record.event_type not in self._names:
            return
        event = self._codec.decode(record)
        name = self._method_for(type(event))
        if name is None:
            return
        method = getattr(self, name)
        if context is None:
            await method(event, record)
        else:
            await method(event, record, context)

    def _method_for(self, cls: type) -> str | None:
        for klass in cls.__mro__:
            name = self._handlers.get(klass)
            if name is not None:
                return name
        return None
