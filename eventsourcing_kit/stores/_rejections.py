"""What the core makes of an append its driver rejected, on every backend.

A driver answers `Rejected` when an expected version did not hold or an
event id is stored already, without telling the two apart; the event ids
are looked up and the retry rule (`_rules`) decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import ConcurrencyError, DuplicateEventError, TransientStoreError
from eventsourcing_kit.stores._driver import Driver, Rejected, StreamWrite
from eventsourcing_kit.stores._records import AppendResult
from eventsourcing_kit.stores._rules import retried_results

__all__ = ["resolve_rejection"]

logger = get_logger(__name__)

_SESSION_ABORTED = (
    "the failed append aborted your transaction (its COMMIT would roll back): roll it back"
)


async def resolve_rejection(
    driver: Driver, writes: Sequence[StreamWrite], rejected: Rejected, session: Any
) -> list[AppendResult]:
    """What a rejected append means: the results of a recognised retry, or the error to raise.

    Raises `DuplicateEventError`, `ConcurrencyError`, or `TransientStoreError`
    for a retry made inside a caller's transaction that the failure aborted.
    """
    # A version that did not hold, or an event id stored already: maybe
    # the retry of an append whose reply was lost. A failure that aborted
    # the caller's transaction leaves it unable to read: look up outside.
    lookup_session = None if rejected.session_aborted else session
    ids = [prepared.event.event_id for write in writes for prepared in write.events]
    stored = await driver.events_by_id(ids, session=lookup_session)
    try:
        found = retried_results(writes, stored)
    except DuplicateEventError as duplicate:
        if rejected.session_aborted:
            duplicate.add_note(_SESSION_ABORTED)
        raise
    retried = [result for result in found if result is not None]
    if retried and len(retried) == len(found):
        if rejected.session_aborted:
            # Never a success: the caller's COMMIT would silently roll back.
            raise TransientStoreError(
                f"append to stream {writes[0].stream_id!r} is a retry of events already "
                f"stored, but it ran in your transaction, whose snapshot predates them; "
                f"{_SESSION_ABORTED} and run it again (the retry then returns the "
                "stored result)"
            )
        return retried
    if retried:
        stored_write = writes[found.index(retried[0])]
        raise DuplicateEventError(
            stored_write.events[0].event.event_id,
            stream_id=stored_write.stream_id,
            detail="only some streams of this multi-stream append are stored",
        )
    write = writes[rejected.index]
    actual = rejected.actual
    if actual is None:
        actual = await driver.stream_version(write.stream_id)
    logger.debug(
        "append conflict", stream_id=write.stream_id, expected=write.expected, actual=actual
    )
    conflict = ConcurrencyError(write.stream_id, expected=write.expected, actual=actual)
    if rejected.session_aborted:
        conflict.add_note(_SESSION_ABORTED)
    raise conflict
