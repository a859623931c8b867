"""What a subscription reports about itself: state, checkpoint and lag."""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable

import attrs

from eventsourcing_kit.stores import Position, RecordedEvent

__all__ = ["SubscriptionState", "SubscriptionStatus", "count_lag"]


class SubscriptionState(enum.Enum):
    """Where a subscription is in its life."""

    IDLE = "idle"
    """Not started yet in this process."""
    CATCHING_UP = "catching_up"
    """Reading history in full batches."""
    LIVE = "live"
    """Caught up with the head; waiting for new events."""
    STANDBY = "standby"
    """Another runner holds the subscription's lease; this one waits to take over."""
    STOPPED = "stopped"
    """Stopped on request, with its checkpoint stored."""
    FAILED = "failed"
    """Stopped by an error (see `SubscriptionStatus.last_error`)."""


@attrs.frozen(kw_only=True)
class SubscriptionStatus:
    """A subscription's progress, as stored and as seen by this process.

    `lag` counts the events the subscription has still to handle, read from
    the store after the checkpoint: counting costs one read of up to
    `lag_limit` events, so a subscription further behind reports what it
    counted in those (a lower bound) with `lag_exact` False.
    """

    subscription_id: str
    state: SubscriptionState
    checkpoint: Position | None
    head_position: Position | None
    lag: int
    lag_exact: bool
    handled: int
    """Events handled by this process since the subscription was created."""
    parked: int
    """Events parked by this process since the subscription was created."""
    last_error: str | None


async def count_lag(
    reader: AsyncIterator[RecordedEvent],
    *,
    head: Position | None,
    wanted: Callable[[RecordedEvent], bool],
    limit: int,
) -> tuple[int, bool]:
    """Count the wanted events of `reader` up to `head`: (count, exact)."""
    if head is None:
        return 0, True
    count = 0
    read = 0
    exact = True
    try:
        async for record in reader:
            if record.position > head:
                break
            if read >= limit:
                exact = False
                break
            read += 1
            if wanted(record):
                count += 1
    finally:
        aclose = getattr(reader, "aclose", None)
        if aclose is not None:
            await aclose()
    return count, exact
