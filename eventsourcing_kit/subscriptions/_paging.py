"""`Pager`: a subscription's reader of its source, kept open while it catches up.

A subscription hands events over in batches of `batch_size`, but it does not
open a new store reader for each batch: the reader of the previous batch
goes on where that batch ended. So a store reader that fetches its next page
while the caller works on the current one (PostgreSQL's does) fetches it
while the subscription delivers and checkpoints, instead of having it thrown
away at every batch. Memory stays bounded: the reader holds the page being
delivered and at most one page ahead.

The reader's page size starts at `batch_size` and doubles each time a page
comes back full, up to `max_page_size`: fewer, larger reads while far behind,
the batch size again once a read reaches the end of the log (the live
boundary, where the reader ends: it never reads ahead past it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from eventsourcing_kit.stores import Position, RecordedEvent
from eventsourcing_kit.subscriptions._source import Source

__all__ = ["Pager"]


class Pager:
    """Pulls batches from one long-lived reader of `source`, reopened only when needed."""

    def __init__(self, source: Source, *, batch_size: int, max_page_size: int) -> None:
        self._source = source
        self._batch_size = batch_size
        self._max_page_size = max_page_size
        self._page_size = batch_size
        self._reader: AsyncIterator[RecordedEvent] | None = None
        # Where the open reader goes on from: the last event it yielded.
        self._after: Position | None = None
        self._pulled = 0

    @property
    def page_size(self) -> int:
        """The page size of the next reader opened."""
        return self._page_size

    async def take(self, after: Position | None) -> list[RecordedEvent]:
        """Up to `batch_size` events after `after`; fewer only at the end of the log.

        The open reader goes on when it stopped at `after`; otherwise (the
        caller moved: a reset, a reloaded checkpoint) a new one starts there.
        """
        limit = self._batch_size
        reader = self._reader
        if reader is not None and after != self._after:
            await self.close()
            reader = None
        if reader is None:
            reader = self._reader = self._source.read(after, self._page_size)
            self._pulled = 0
        records: list[RecordedEvent] = []
        append = records.append
        left = limit
        try:
            # Leaving an `async for` by `break` does not close the reader.
            async for record in reader:
                append(record)
                left -= 1
                if not left:
                    break
            else:
                # The end of the log: the next reader starts small again,
                # after the caller listened for new events.
                self._reader = None
                self._page_size = self._batch_size
                return records
        except BaseException:
            # A reader that raised is finished; the next call opens another.
            self._reader = None
            raise
        self._after = records[-1].position
        self._pulled += len(records)
        if self._pulled >= self._page_size and self._page_size < self._max_page_size:
            # A full page and more to come: far behind. Read larger pages.
            self._page_size = min(self._page_size * 2, self._max_page_size)
            await self.close()
        return records

    async def close(self) -> None:
        """Close the open reader, if any (it drops its page ahead)."""
        reader, self._reader = self._reader, None
        aclose = getattr(reader, "aclose", None)
        if aclose is not None:
            await aclose()
