"""Parked events: poison events set aside in a stream of the event store itself.

A subscription with ``on_error="park"`` appends a record of the failing event
to the stream ``$parked-<subscription id>`` and goes on. Keeping them in the
event store, rather than in a table of their own, works on every backend
through the store protocol alone. Records are never updated: a successful
replay appends a second record that resolves the first.

Subscriptions skip parking records, so parking never feeds a subscription its
own records. A record is recognised by its stream, its event type *and* a
metadata mark the kit alone writes, not by its stream id alone: stream ids are
the users' (any printable id is valid), and user events in a ``$parked-...``
stream are delivered like any other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from datetime import datetime
from uuid import UUID

import attrs

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import ConfigurationError
from eventsourcing_kit.stores import MAX_NAME_LENGTH, EventStore, NewEvent, RecordedEvent
from eventsourcing_kit.subscriptions._reading import take

__all__ = [
    "PARKED_CATEGORY",
    "PARKING_EVENT_TYPES",
    "ParkedEvent",
    "ReplayResult",
    "is_parking_record",
    "list_parked",
    "park",
    "parked_stream_id",
    "replay_parked",
]

logger = get_logger(__name__)

PARKED_CATEGORY = "$parked"
_PREFIX = PARKED_CATEGORY + "-"
_PARKED = "$EventParked"
_REPLAYED = "$ParkedEventReplayed"
PARKING_EVENT_TYPES = frozenset({_PARKED, _REPLAYED})
"""The event types of the records the kit writes to park events."""
_MARK_KEY = "eventsourcing_kit"
_MARK = {_MARK_KEY: "parking"}


def parked_stream_id(subscription_id: str) -> str:
    """The stream that holds a subscription's parked events."""
    stream_id = _PREFIX + subscription_id
    if len(stream_id) > MAX_NAME_LENGTH:
        raise ConfigurationError(
            f"subscription id {subscription_id[:40]!r}... is too long to park events: its "
            f"parked stream id would exceed {MAX_NAME_LENGTH} characters; use an id of at "
            f"most {MAX_NAME_LENGTH - len(_PREFIX)} characters"
        )
    return stream_id


def is_parking_record(record: RecordedEvent) -> bool:
    """True for a record the kit wrote to park an event or mark its replay."""
    return (
        record.event_type in (_PARKED, _REPLAYED)
        and record.metadata.get(_MARK_KEY) == _MARK[_MARK_KEY]
        and record.stream_id.startswith(_PREFIX)
    )


@attrs.frozen(kw_only=True)
class ParkedEvent:
    """An event a subscription's handler kept failing on, set aside to replay."""

    subscription_id: str
    stream_id: str
    version: int
    event_id: UUID
    event_type: str
    global_position: int
    error: str
    attempts: int
    parked_at: datetime
    parked_id: UUID
    """The id of the parking record in the ``$parked-...`` stream."""


@attrs.frozen(kw_only=True)
class ReplayResult:
    """What a replay of parked events did: handled now, and still failing."""

    replayed: tuple[ParkedEvent, ...]
    failed: tuple[tuple[ParkedEvent, str], ...]


async def park(
    store: EventStore,
    subscription_id: str,
    record: RecordedEvent,
    *,
    error: BaseException,
    attempts: int,
) -> None:
    """Append a parking record for `record` that failed with `error`."""
    await store.append_events(
        parked_stream_id(subscription_id),
        [
            NewEvent(
                event_type=_PARKED,
                data={
                    "subscription_id": subscription_id,
                    "stream_id": record.stream_id,
                    "version": record.version,
                    "event_id": str(record.event_id),
                    "event_type": record.event_type,
                    "global_position": record.global_position,
                    "error": repr(error)[:2000],
                    "attempts": attempts,
                },
                metadata=_MARK,
            )
        ],
    )


async def list_parked(store: EventStore, subscription_id: str) -> list[ParkedEvent]:
    """The parked events of a subscription not replayed yet, oldest first."""
    pending: dict[str, ParkedEvent] = {}
    async for record in store.read_stream(parked_stream_id(subscription_id)):
        if not is_parking_record(record):
            continue  # a user's event in a stream that happens to share the name
        data = record.data
        if record.event_type == _PARKED:
            # The same event parked twice (a restart between parking and the
            # checkpoint) is listed once, as its latest record.
            pending.pop(data["event_id"], None)
            pending[data["event_id"]] = ParkedEvent(
                subscription_id=subscription_id,
                stream_id=data["stream_id"],
                version=data["version"],
                event_id=UUID(data["event_id"]),
                event_type=data["event_type"],
                global_position=data["global_position"],
                error=data["error"],
                attempts=data["attempts"],
                parked_at=record.recorded_at,
                parked_id=record.event_id,
            )
        elif record.event_type == _REPLAYED:
            parked = pending.get(data["event_id"])
            if parked is not None and str(parked.parked_id) == data["parked_id"]:
                del pending[data["event_id"]]
    return list(pending.values())


async def replay_parked(
    store: EventStore,
    subscription_id: str,
    deliver: Callable[[RecordedEvent], Awaitable[None]],
    *,
    event_ids: Collection[UUID] | None = None,
) -> ReplayResult:
    """Hand each parked event (or those in `event_ids`) to `deliver` once more.

    An event `deliver` handles without raising is marked replayed; one that
    fails stays parked and is reported in `ReplayResult.failed`. The mark is
    appended after `deliver` returns: a crash in between replays it again.
    """
    log = logger.bind(subscription_id=subscription_id)
    replayed: list[ParkedEvent] = []
    failed: list[tuple[ParkedEvent, str]] = []
    for parked in await list_parked(store, subscription_id):
        if event_ids is not None and parked.event_id not in event_ids:
            continue
        record = await _load(store, parked)
        try:
            if record is None:
                raise LookupError(
                    f"event {parked.event_id} is no longer at version {parked.version} of "
                    f"stream {parked.stream_id!r}"
                )
            await deliver(record)
        except Exception as error:
            log.warning(
                "parked event replay failed",
                event_id=str(parked.event_id),
                stream_id=parked.stream_id,
                version=parked.version,
                error=repr(error),
            )
            failed.append((parked, repr(error)))
            continue
        await store.append_events(
            parked_stream_id(subscription_id),
            [
                NewEvent(
                    event_type=_REPLAYED,
                    data={"event_id": str(parked.event_id), "parked_id": str(parked.parked_id)},
                    metadata=_MARK,
                )
            ],
        )
        replayed.append(parked)
    log.info("parked events replayed", replayed=len(replayed), failed=len(failed))
    return ReplayResult(replayed=tuple(replayed), failed=tuple(failed))


async def _load(store: EventStore, parked: ParkedEvent) -> RecordedEvent | None:
    reader = store.read_stream(parked.stream_id, from_version=parked.version, batch_size=1)
    records = await take(reader, 1)
    if records and records[0].event_id == parked.event_id:
        return records[0]
    return None
