"""Reading a bounded page from a store iterator, and closing it promptly."""

from __future__ import annotations

from collections.abc import AsyncIterator

from eventsourcing_kit.stores import RecordedEvent

__all__ = ["take"]


async def take(reader: AsyncIterator[RecordedEvent], limit: int) -> list[RecordedEvent]:
    """Up to `limit` events from `reader`, which is closed afterwards.

    Closing matters on a database backend: an abandoned reader may hold a
    connection or cursor until the garbage collector finds it.
    """
    records: list[RecordedEvent] = []
    try:
        async for record in reader:
            records.append(record)
            if len(records) >= limit:
                break
    finally:
        aclose = getattr(reader, "aclose", None)
        if aclose is not None:
            await aclose()
    return records
