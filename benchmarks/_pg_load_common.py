"""What every system of the load scenarios shares: sizes and the aggregate's events.

Each system loads one aggregate through its own repository: the same
logical events (an ``Opened`` then ``Deposited`` events, each with
_pg_common's payload and metadata), saved the same way (saves of
`SAVE_SIZE` events, as its users' saves would be), with a snapshot every
`SNAPSHOT_EVERY` events taken by its own snapshotting. The aggregate's
state is the balance the events add up to.
"""

from __future__ import annotations

from typing import Any

import attrs
from _pg_common import payload

SNAPSHOT_EVERY = 100
"""Snapshot interval of every system's repository, as issue 15 asks."""

SAVE_SIZE = 100
"""Events per save while seeding: each save crosses one snapshot interval."""


@attrs.frozen(kw_only=True)
class LoadSizes:
    """The aggregate's size and how many loads one measurement makes.

    `events`: the aggregate loaded without snapshots. `tail`: the events
    saved after them for the load with snapshots, whose latest snapshot is
    then at `events` (a multiple of `SNAPSHOT_EVERY`) with `tail` events to
    replay: 50 is the average tail of an aggregate snapshotted every 100.
    """

    events: int
    tail: int
    loads: int
    snapshot_loads: int

    @classmethod
    def full(cls) -> LoadSizes:
        return cls(events=10_000, tail=50, loads=5, snapshot_loads=200)

    @classmethod
    def quick(cls) -> LoadSizes:
        return cls(events=1_000, tail=50, loads=2, snapshot_loads=10)


@attrs.frozen(kw_only=True)
class AggregateEvent:
    """One event of the loaded aggregate: `version` 1 opens it, the others deposit."""

    version: int
    event_type: str
    data: dict[str, Any]
    metadata: dict[str, Any]


def aggregate_events(first: int, count: int) -> list[AggregateEvent]:
    """Versions `first` to `first + count - 1` of the aggregate."""
    events = []
    for version in range(first, first + count):
        data, metadata = payload(version)
        event_type = "Opened" if version == 1 else "Deposited"
        events.append(
            AggregateEvent(version=version, event_type=event_type, data=data, metadata=metadata)
        )
    return events


def saves(events: list[AggregateEvent]) -> list[list[AggregateEvent]]:
    """`events` cut into saves of `SAVE_SIZE`."""
    return [events[i : i + SAVE_SIZE] for i in range(0, len(events), SAVE_SIZE)]


def balance(events: list[AggregateEvent]) -> int:
    """The state every system must reach: what the events add up to."""
    return sum(e.data["amount"] for e in events)
