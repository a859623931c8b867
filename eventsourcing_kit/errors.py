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
    "CheckpointFencedError",
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
    "UpdateGaveUpError",
    "WrongEventLoopError",
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


class CheckpointFencedError(StoreError):
    """A subscription's checkpoint is not where its runner read it.

    Another runner of the subscription (a second replica, a standby that
    took over), or a reset, moved it. Nothing was stored; in a checkpoint
    transaction, the whole transaction rolled back. Subscriptions handle it
    themselves: they reload the checkpoint and go on from there.
    """

    def __init__(self, subscription_id: str, *, expected: object, actual: object) -> None:
        self.subscription_id = subscription_id
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"the checkpoint of subscription {subscription_id!r} is at {actual}, not at "
            f"{expected} where this runner read it: another runner or a reset moved it; "
            "nothing was stored (a checkpoint transaction rolled back): reload the "
            "checkpoint and go on from there"
        )


class UpdateGaveUpError(ConcurrencyError):
    """`Repository.update` ran out of its retry budget, beaten by other writers every time.

    A `ConcurrencyError` (catch either), carrying what was tried: `attempts`
    and `elapsed` seconds, under the repository's `retry_for` and
    `max_attempts`.
    """

    def __init__(
        self,
        stream_id: str,
        *,
        expected: object,
        actual: int,
        attempts: int,
        elapsed: float,
        retry_for: float | None,
        max_attempts: int | None,
    ) -> None:
        # Not ConcurrencyError's message, whose advice (reload and retry) is
        # what update did until its budget ran out.
        StoreError.__init__(
            self,
            f"update of stream {stream_id!r} gave up after {attempts} attempts in "
            f"{elapsed:.2f} s (retry_for={retry_for}, max_attempts={max_attempts}): each time "
            f"another writer appended first (last: expected version {expected}, found "
            f"{actual}), and each time the command ran again on the reloaded state. The "
            "stream is busier than this retry budget: raise retry_for, or split the "
            "aggregate so that fewer writers share one stream",
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        self.attempts = attempts
        self.elapsed = elapsed
        self.retry_for = retry_for
        self.max_attempts = max_attempts


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


class WrongEventLoopError(StoreError, RuntimeError):
    """The store was called from an event loop other than the one it was opened on.

    Raised before anything is sent: the store's connections belong to the
    loop that opened them, and keep working there.
    """

    def __init__(self, backend: str) -> None:
        super().__init__(
            f"this {backend} store was opened on another event loop, and its connections "
            "belong to that loop; nothing was sent. Open one store per event loop (call "
            "connect() inside the loop that uses it), or hand the work to the store's loop "
            "(asyncio.run_coroutine_threadsafe)"
        )


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
