"""Every exception the kit raises on purpose, under one root: `EventSourcingError`.

Exceptions carry the data that describes the failure as attributes, so that
callers can react without parsing messages, and a message that says what was
wrong and what to do about it.
"""

# No `from __future__ import annotations` and no `from typing import ...`
# here: what this module holds is what users import from it, errors only.
import uuid

__all__ = [
    "AggregateNotFound",
    "ConcurrencyError",
    "ConfigurationError",
    "DuplicateEventError",
    "EventSourcingError",
    "HandlerError",
    "InvalidEventError",
    "InvalidExpectedVersionError",
    "InvalidInputError",
    "InvalidStreamIdError",
    "MigrationError",
    "SerializationError",
    "StoreClosedError",
    "StoreError",
    "StoreUnavailableError",
    "SubscriptionError",
    "TransientStoreError",
    "UnknownEventTypeError",
    "UpcastError",
]


class EventSourcingError(Exception):
    """The root of every error raised by eventsourcing-kit."""


# --- input -----------------------------------------------------------------


class InvalidInputError(EventSourcingError, ValueError):
    """An argument was rejected before anything was written."""


class InvalidStreamIdError(InvalidInputError):
    """A stream id is empty, too long, not a string or holds control characters."""

    def __init__(self, stream_id: object, reason: str) -> None:
        self.stream_id = stream_id
        self.reason = reason
        super().__init__(
            f"invalid stream id {stream_id!r}: {reason}; a stream id is a printable "
            "string of 1 to 255 characters"
        )


class InvalidExpectedVersionError(InvalidInputError, TypeError):
    """`expected_version` is neither a non-negative int nor an `ExpectedVersion`."""

    def __init__(self, expected_version: object) -> None:
        self.expected_version = expected_version
        super().__init__(
            f"invalid expected_version {expected_version!r}: pass a non-negative int "
            "(0 means the stream must not exist yet) or ExpectedVersion.ANY / NO_STREAM / "
            "STREAM_EXISTS"
        )


class InvalidEventError(InvalidInputError):
    """A new event is malformed (bad type name, data not a mapping, bad id...)."""


class SerializationError(InvalidInputError):
    """A value cannot be turned into JSON, or JSON back into the declared type."""


# --- domain ----------------------------------------------------------------


class UnknownEventTypeError(EventSourcingError, LookupError):
    """A stored event names a type that no registered event class carries."""

    def __init__(
        self, event_type: str, *, stream_id: str | None = None, version: int | None = None
    ) -> None:
        self.event_type = event_type
        self.stream_id = stream_id
        self.version = version
        where = f" (stream {stream_id!r}, version {version})" if stream_id is not None else ""
        super().__init__(
            f"unknown event type {event_type!r}{where}: no event class is stored under that "
            "name; list its class in the aggregate's `event_types`, or, if the class was "
            f"renamed, keep the stored name with @event_type({event_type!r}) or "
            f"@event_type(aliases=[{event_type!r}])"
        )


class UpcastError(EventSourcingError):
    """A stored event could not be upgraded to the current schema version."""


class AggregateNotFound(EventSourcingError, LookupError):
    """The aggregate's stream holds no events (or fewer than the version asked for)."""

    def __init__(
        self, stream_id: str, *, version: int | None = None, actual: int | None = None
    ) -> None:
        self.stream_id = stream_id
        self.version = version
        self.actual = actual
        if version is None:
            message = f"aggregate not found: stream {stream_id!r} has no events"
        else:
            message = (
                f"aggregate version {version} not found: stream {stream_id!r} is at version "
                f"{actual}; load at most that version"
            )
        super().__init__(message)


# --- stores ----------------------------------------------------------------


class StoreError(EventSourcingError):
    """A failure inside an event store backend."""


class ConcurrencyError(StoreError):
    """The stream's version is not the one the writer expected.

    Another writer appended first: reload the aggregate and decide again
    (`Repository.update` does this for you).
    """

    def __init__(self, stream_id: str, *, expected: object, actual: int) -> None:
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, expected {expected}: another "
            "writer got there first; reload the stream and retry"
        )


class DuplicateEventError(StoreError):
    """An event id is already stored with other content or at another place."""

    def __init__(self, event_id: uuid.UUID, *, stream_id: str, detail: str) -> None:
        self.event_id = event_id
        self.stream_id = stream_id
        super().__init__(
            f"event id {event_id} is already stored and this append is not a retry of it "
            f"({detail}); give new events new ids"
        )


class TransientStoreError(StoreError):
    """A failure that may pass when the same operation is tried again."""


class StoreUnavailableError(StoreError):
    """The backend cannot be reached (server down, file unreadable...)."""


class StoreClosedError(StoreError):
    """The store was used after `close()`."""

    def __init__(self) -> None:
        super().__init__("the event store is closed; open a new one with connect()")


class ConfigurationError(EventSourcingError, ValueError):
    """A URL, option or setup is wrong."""


class MigrationError(StoreError):
    """The database schema could not be brought up to date."""


# --- subscriptions ---------------------------------------------------------


class SubscriptionError(EventSourcingError):
    """A subscription cannot run or was stopped by a failure."""


class HandlerError(SubscriptionError):
    """A subscription's handler kept failing on one event."""

    def __init__(self, subscription_id: str, event: object, cause: BaseException) -> None:
        self.subscription_id = subscription_id
        self.event = event
        super().__init__(
            f"subscription {subscription_id!r} stopped: its handler failed on event "
            f"{getattr(event, 'event_id', '?')} (stream {getattr(event, 'stream_id', '?')!r}, "
            f"version {getattr(event, 'version', '?')}): {cause!r}; fix the handler and "
            "restart, or park failing events with on_error='park'"
        )
