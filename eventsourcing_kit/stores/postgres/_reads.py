"""Reading the PostgreSQL store: streams, and the global order that never skips.

Readers follow ``(transaction_id, global_position)`` and only deliver rows
below the oldest running transaction (see `_queries` for why). Payloads
travel as JSON text and are decoded with orjson, so the store works on any
pool, whatever JSON codecs its owner installed on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from uuid import UUID

import orjson

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.stores.driver import (
    GlobalRead,
    Position,
    RecordedEvent,
    StreamInfo,
    StreamRead,
    StreamsRead,
)
from eventsourcing_kit.stores.postgres._errors import DRIVER_ERRORS, translate_error
from eventsourcing_kit.stores.postgres._lane import READ_RETRY_FOR, Lane
from eventsourcing_kit.stores.postgres._queries import Queries

__all__ = ["Reader", "record"]

logger = get_logger(__name__)

_from_stored = RecordedEvent.from_stored


def record(row: Any) -> RecordedEvent:
    """The event of one row of the store's reading queries."""
    # The read paths' per-row cost: orjson directly (JSONB text needs no
    # checks), no attrs __init__, and the transaction id kept as the event's
    # ordering (its Position is made only when asked for).
    stream_id, version, event_type, data, metadata, event_id, position, xid, at = row
    return _from_stored(
        stream_id,
        version,
        event_type,
        orjson.loads(data),
        orjson.loads(metadata),
        event_id,
        position,
        xid,
        at,
    )


# How long a page read ahead for a reader that stopped early may still run
# before it is cancelled (a server that stopped answering).
_ABANDON_GRACE = 1.0


def _abandon(ahead: asyncio.Future[list[Any]]) -> None:
    """Drop a page read ahead for a reader that stopped early.

    It is left to finish rather than cancelled: cancelling a statement in
    flight costs asyncpg a connection of its own to send the cancel request,
    and the server a process to serve it, many times what the rest of the
    page query costs; a reader that stops after each page (a subscription
    reading page by page) would pay that on every page. A statement still
    running after `_ABANDON_GRACE` is cancelled after all, so that closing
    the store never waits long for one.
    """
    if ahead.done():
        _discard(ahead)
        return
    timer = asyncio.get_running_loop().call_later(_ABANDON_GRACE, ahead.cancel)

    def done(task: asyncio.Future[list[Any]]) -> None:
        timer.cancel()
        _discard(task)

    ahead.add_done_callback(done)


def _discard(task: asyncio.Future[list[Any]]) -> None:
    # Retrieved, so that asyncio does not log a failure nobody waits for.
    if not task.cancelled():
        task.exception()


class Reader:
    """The reading queries of one store, on its lane of pool connections."""

    def __init__(self, lane: Lane, sql: Queries, *, schema: str, visibility_wait: float) -> None:
        self._lane = lane
        self._sql = sql
        self._schema = schema
        self._visibility_wait = visibility_wait

    async def fetch(self, query: str, *args: Any) -> list[Any]:
        """Run `query` on the lane, with driver errors translated."""
        try:
            return await self._lane.fetch(query, *args, retry_for=READ_RETRY_FOR)
        except DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error

    async def fetchrow(self, query: str, *args: Any) -> Any:
        """One row of `query` on the lane, with driver errors translated."""
        try:
            return await self._lane.fetchrow(query, *args, retry_for=READ_RETRY_FOR)
        except DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error

    # --- streams ---------------------------------------------------------------

    def read_stream(self, request: StreamRead) -> AsyncIterator[RecordedEvent]:
        return self._read_stream(request.stream_id, request.from_version, request.batch_size)

    async def _read_stream(
        self, stream_id: str, version: int, batch_size: int
    ) -> AsyncIterator[RecordedEvent]:
        while True:
            rows = await self.fetch(self._sql.read_stream, stream_id, version, batch_size)
            for row in rows:
                yield record(row)
            if len(rows) < batch_size:
                return
            version = rows[-1][1] + 1

    async def stream_version(self, stream_id: str) -> int:
        row = await self.fetchrow(self._sql.stream_version, stream_id)
        return 0 if row is None else int(row[0])

    def list_streams(self, request: StreamsRead) -> AsyncIterator[StreamInfo]:
        return self._list_streams(request.category, request.batch_size)

    async def _list_streams(
        self, category: str | None, batch_size: int
    ) -> AsyncIterator[StreamInfo]:
        after = ""  # before every stream id: ids are never empty
        while True:
            if category is None:
                rows = await self.fetch(self._sql.list_streams, after, batch_size)
            else:
                rows = await self.fetch(
                    self._sql.list_category_streams, after, batch_size, category
                )
            for stream_id, version in rows:
                yield StreamInfo(stream_id=stream_id, version=version)
            if len(rows) < batch_size:
                return
            after = rows[-1][0]

    async def events_by_id(
        self, event_ids: Sequence[UUID], connection: Any = None
    ) -> Mapping[UUID, RecordedEvent]:
        """The stored events among `event_ids`: on `connection` (the caller's
        transaction, which sees its own writes) or on the lane."""
        ids = list(event_ids)
        try:
            if connection is None:
                rows = await self._lane.fetch(self._sql.by_event_ids, ids, retry_for=READ_RETRY_FOR)
            else:
                rows = await connection.fetch(self._sql.by_event_ids, ids)
        except DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error
        return {row[5]: record(row) for row in rows}

    # --- the global order --------------------------------------------------------

    def read_global(self, request: GlobalRead) -> AsyncIterator[RecordedEvent]:
        xid, position = request.after.parts
        after = (xid, position)
        types = request.event_types
        category = request.category
        extra: tuple[Any, ...]
        sql = self._sql
        if category is None:
            if types is None:
                query, held, extra = sql.read_all, sql.held_back, ()
            else:
                query, held, extra = sql.read_all_types, sql.held_back_types, (list(types),)
        elif types is None:
            query, held, extra = sql.read_category, sql.held_back_category, (category,)
        else:
            query, held = sql.read_category_types, sql.held_back_category_types
            extra = (category, list(types))
        partition = request.partition
        if partition is not None:
            # Its two arguments come after the filter's own: $4... in the
            # reading query, $3... in the held-back one (see _queries).
            query = self._sql.partitioned(query, 4 + len(extra))
            held = self._sql.partitioned(held, 3 + len(extra))
            extra = (*extra, partition.count, partition.index)
        return self._scan(query, held, after, request.batch_size, extra)

    async def _scan(
        self,
        query: str,
        held: str,
        after: tuple[int, int],
        batch_size: int,
        extra: tuple[Any, ...],
    ) -> AsyncIterator[RecordedEvent]:
        # One short query per page: no connection is held while the caller
        # works on the events. While the caller works on a full page, the
        # next one is already being fetched (at most two pages in memory):
        # the server and the client no longer wait for each other in turn.
        settled = False
        rows = await self.fetch(query, after[0], after[1], batch_size, *extra)
        while True:
            if rows:
                after = (rows[-1][7], rows[-1][6])
            ahead: asyncio.Task[list[Any]] | None = None
            if len(rows) >= batch_size:
                ahead = asyncio.ensure_future(
                    self.fetch(query, after[0], after[1], batch_size, *extra)
                )
                # Let the task send its query now: a caller that consumes
                # without awaiting anything else would otherwise give the
                # loop no turn until this page is done, and the page ahead
                # would only be asked for when it is needed.
                await asyncio.sleep(0)
            try:
                # Decoded whole first, inline (record's body): a comprehension
                # costs less per row than resuming this generator between rows.
                decode = orjson.loads
                for event in [
                    _from_stored(
                        r[0],
                        r[1],
                        r[2],
                        decode(r[3]),
                        decode(r[4]),
                        r[5],
                        r[6],
                        r[7],
                        r[8],
                    )
                    for r in rows
                ]:
                    yield event
            except BaseException:
                if ahead is not None:
                    # The caller stopped early (or failed): drop the page ahead.
                    _abandon(ahead)
                raise
            if ahead is not None:
                rows = await ahead
                continue
            # At the end, once: if committed events are held back by older
            # transactions still running, wait for those and read on.
            if settled or not await self.settle(after, held, extra):
                return
            settled = True
            rows = await self.fetch(query, after[0], after[1], batch_size, *extra)

    async def settle(
        self, after: tuple[int, int], held: str | None = None, extra: tuple[Any, ...] = ()
    ) -> bool:
        """Wait until the events stored after `after` can be delivered.

        `held` (default: every event) is the ``held_back`` query matching
        the reader's filter, `extra` its filter arguments: a category reader
        neither waits for nor reads again for other categories' events.

        True when there are such events (the caller reads once more). Events
        of a committed transaction are held back while an older one is still
        running (see _queries). Such transactions are usually short, so a
        reader that just saw its own append commit waits for them rather
        than end without it. The wait is bounded by `visibility_wait`: a long
        transaction elsewhere delays the events to a later read, it never
        makes a reader skip them.
        """
        if self._visibility_wait <= 0:
            return False
        top_xid, top_position, xmin = await self.fetchrow(
            held or self._sql.held_back, after[0], after[1], *extra
        )
        if top_xid is None or (top_xid, top_position) <= after:
            return False
        # The page just read may have used an older snapshot than this one.
        if top_xid < xmin:
            return True
        top = top_xid
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._visibility_wait
        delay = 0.001
        while loop.time() < deadline:
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
            if (await self.fetchrow(self._sql.xmin))[0] > top:
                return True
        logger.info(
            "events held back by a long-running transaction",
            schema=self._schema,
            transaction_id=top,
            oldest_running=xmin,
            waited_s=self._visibility_wait,
        )
        return True

    async def head_position(self) -> Position | None:
        await self.settle((0, 0))
        row = await self.fetchrow(self._sql.head_position)
        return None if row is None else Position.pair(row[0], row[1])
