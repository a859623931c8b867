"""Several aggregates saved in one atomic step: `store.append_many`.

`Repository.save` appends one aggregate's pending events. A process manager
that changes several aggregates at once (an order and the stock of each of
its lines) needs them all written or none: `pending_append` turns one
aggregate's pending events into a `StreamAppend`, encoded as the repository
encodes them and expecting the version the aggregate was loaded at;
`save_together` appends them all with one `append_many` and marks the
aggregates saved. A `ConcurrencyError` names the first stream that moved,
and nothing is written in any stream.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from eventsourcing_kit import (
    Aggregate,
    AppendResult,
    EventStore,
    NewEvent,
    Repository,
    StreamAppend,
)


def pending_append(
    repository: Repository[Any], aggregate: Aggregate, metadata: Mapping[str, Any]
) -> StreamAppend:
    """The append of `aggregate`'s pending events, with `metadata` on each."""
    events = []
    for event, event_id in zip(aggregate.pending_events, aggregate.pending_event_ids, strict=True):
        encoded = repository.events.encode(event)
        events.append(
            NewEvent(
                encoded.event_type,
                encoded.data,
                metadata={**metadata, **encoded.metadata()},
                event_id=event_id,  # kept across retries: a retried append is idempotent
            )
        )
    loaded_at = aggregate.version - len(aggregate.pending_events)
    return StreamAppend(aggregate.stream_id, events, expected_version=loaded_at)


async def save_together(
    store: EventStore,
    changed: Sequence[tuple[Repository[Any], Aggregate]],
    *,
    metadata: Mapping[str, Any],
) -> list[AppendResult]:
    """Append every aggregate's pending events atomically; all or nothing."""
    appends = [
        pending_append(repository, aggregate, metadata)
        for repository, aggregate in changed
        if aggregate.pending_events
    ]
    if not appends:
        return []
    results = await store.append_many(appends)
    for _, aggregate in changed:
        aggregate.mark_saved()
    return results
