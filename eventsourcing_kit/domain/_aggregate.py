"""The aggregate base class: state that changes only by applying events."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID, uuid4

import attrs

from eventsourcing_kit.domain._events import check_event_class
from eventsourcing_kit.errors import ConfigurationError

__all__ = ["Aggregate"]


@attrs.define
class Aggregate:
    """Base class of event-sourced aggregates.

    Subclass it with ``@attrs.define``, declare the event classes the
    aggregate records in `event_types`, change state only in `apply`, and
    have commands call `record`::

        @attrs.define
        class Account(Aggregate):
            event_types = (Deposited,)
            balance: int = 0

            def deposit(self, amount: int) -> None:
                if amount <= 0:
                    raise ValueError("amount must be positive")
                self.record(Deposited(amount))

            def apply(self, event: object) -> None:
                match event:
                    case Deposited(amount=amount):
                        self.balance += amount

    Replaying the same events must always give the same state: no clocks,
    randomness or I/O in `apply` (put such values in the event instead).
    """

    event_types: ClassVar[tuple[type, ...]] = ()
    """The event classes this aggregate records: what its stream can hold."""

    stream_type: ClassVar[str | None] = None
    """The stream-id prefix and category; the class name when None."""

    snapshot_version: ClassVar[int] = 1
    """Bump it to discard older snapshots when the state's meaning changes
    but not its field names or types (a changed shape is noticed anyway)."""

    id: UUID = attrs.field(factory=uuid4, kw_only=True)
    version: int = attrs.field(default=0, kw_only=True)
    pending_events: list[object] = attrs.field(factory=list, kw_only=True, eq=False, repr=False)
    # Each recorded event's id, chosen when it is recorded: saving the same
    # aggregate again after a lost reply re-sends the same ids, which the
    # store recognises as a retry instead of a second write.
    _pending_ids: list[UUID] = attrs.field(factory=list, init=False, eq=False, repr=False)

    @classmethod
    def category(cls) -> str:
        """The stream category: the part of the stream id before its first ``-``."""
        name = cls.stream_type or cls.__name__
        if "-" in name or not name:
            raise ConfigurationError(
                f"{cls.__qualname__}.stream_type {name!r} must be non-empty and hold no '-': "
                "it is the category of the aggregate's stream ids"
            )
        return name

    @classmethod
    def stream_id_for(cls, aggregate_id: UUID) -> str:
        """The stream id of the aggregate with `aggregate_id`: ``{Type}-{id}``."""
        return f"{cls.category()}-{aggregate_id}"

    @property
    def stream_id(self) -> str:
        """This aggregate's stream id."""
        return self.stream_id_for(self.id)

    def record(self, event: object) -> None:
        """Apply `event` now and keep it pending until the repository saves it."""
        if type(event) not in self.event_types:
            raise ConfigurationError(
                f"{type(self).__qualname__} cannot record a {type(event).__qualname__}: add the "
                "class to its `event_types` so that a fresh process can load it again"
            )
        # Frozen: the event applied now is the one the repository stores later.
        check_event_class(type(event))
        self.apply(event)
        self.version += 1
        self.pending_events.append(event)
        self._pending_ids.append(uuid4())

    @property
    def pending_event_ids(self) -> list[UUID]:
        """The ids the pending events will be stored under, one per event.

        Stable across save attempts, so that a retried save is idempotent.
        """
        count = len(self.pending_events)
        ids = self._pending_ids
        if len(ids) < count:  # events added to pending_events by hand
            ids[:0] = [uuid4() for _ in range(count - len(ids))]
        # pending_events cleared by hand leaves older ids at the front.
        return ids[len(ids) - count :]

    def mark_saved(self) -> None:
        """Forget the pending events: they are stored now."""
        self.pending_events.clear()
        self._pending_ids.clear()

    def apply(self, event: object) -> None:
        """Change the state for one event; the one place state changes."""
        raise NotImplementedError(
            f"{type(self).__qualname__} must define apply(self, event) to handle its events"
        )

    def replay(self, events: list[object]) -> None:
        """Apply already-stored events (they are not pending)."""
        for event in events:
            self.apply(event)
            self.version += 1
