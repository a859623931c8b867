"""`Source`: what a subscription reads, the store's global order filtered for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import attrs

from eventsourcing_kit.stores import EventStore, Position, RecordedEvent
from eventsourcing_kit.subscriptions._groups import GroupMember
from eventsourcing_kit.subscriptions._parking import PARKING_EVENT_TYPES, is_parking_record

__all__ = ["Source"]


@attrs.frozen
class Source:
    """What a subscription reads: a store's global order, filtered."""

    store: EventStore
    category: str | None
    event_types: tuple[str, ...] | None
    partition: GroupMember | None

    def read(self, checkpoint: Position | None, batch_size: int) -> AsyncIterator[RecordedEvent]:
        """The events after `checkpoint` that the store filters for us."""
        # A store that cannot filter by partition itself would only drop the
        # others' events out of sight; reading them here keeps the checkpoint
        # moving past them (see `wanted`).
        partition = self.partition.partition if self.filtered and self.partition else None
        if self.category is not None:
            return self.store.read_category(
                self.category,
                from_position=checkpoint,
                event_types=self.event_types,
                batch_size=batch_size,
                partition=partition,
            )
        return self.store.read_all(
            from_position=checkpoint,
            event_types=self.event_types,
            batch_size=batch_size,
            partition=partition,
        )

    @property
    def filtered(self) -> bool:
        """True when the store keeps other partitions' events from the reads (not only us)."""
        return self.partition is not None and self.store.capabilities.partition_filter

    def keep(self, records: list[RecordedEvent]) -> list[RecordedEvent]:
        """The `wanted` ones of `records`, in order."""
        if self.partition is None:
            # Per event on every subscription's path: the type is looked at
            # first, which rules out all but the kit's own parking records.
            kinds = PARKING_EVENT_TYPES
            return [r for r in records if r.event_type not in kinds or not is_parking_record(r)]
        return [record for record in records if self.wanted(record)]

    def wanted(self, record: RecordedEvent) -> bool:
        """Whether the handler gets `record` (parking records and other members' streams not)."""
        if is_parking_record(record):
            return False
        return self.partition is None or self.partition.owns(record.stream_id)
