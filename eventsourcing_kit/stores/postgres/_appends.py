"""Appending to the PostgreSQL store: one round trip per append, or per group.

One append of one stream with an exact expected version, on the store's own
connections (the common case), is one statement that claims the stream's row
in ``streams`` at that version and inserts the events from it
(`Queries.append_next` and its kin); other expected versions, and appends on
a caller's connection, go through the ``append_event()`` /
``append_events()`` functions (store/postgres/0010: lock the stream's row,
check the version and the first event id, insert). Appends queued while
another is in flight share one transaction (`_group`). An append to several
streams goes on its own (`_many`).

Every statement's row is turned into the driver's typed outcome
(`Appended` / `Rejected`) where it comes back (`_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg
import structlog

from eventsourcing_kit.stores.driver import (
    Appended,
    AppendOutcome,
    AppendRequest,
    AppendResult,
    Position,
    Rejected,
)
from eventsourcing_kit.stores.postgres._errors import DRIVER_ERRORS, translate_error
from eventsourcing_kit.stores.postgres._group import GroupCommitter, Pending
from eventsourcing_kit.stores.postgres._jsonb import jsonb_text
from eventsourcing_kit.stores.postgres._lane import Lane
from eventsourcing_kit.stores.postgres._many import append_many
from eventsourcing_kit.stores.postgres._notify import Listener, Notifier, NotifyMode
from eventsourcing_kit.stores.postgres._queries import Queries
from eventsourcing_kit.stores.postgres._rows import (
    LOST_RACE,
    expected_code,
    function_outcome,
)

__all__ = ["Appends"]

logger = structlog.get_logger(__name__)

# The one-statement paths' conflict: the stream's row did not hold the
# expected version. The statement does not read the version; the core does.
_NOT_CLAIMED = Rejected(0)


class Appends:
    """The append paths of the PostgreSQL driver.

    A base class of `PostgresDriver` rather than a part it delegates to:
    the core awaits `append` once per append, and a delegating coroutine
    would add a frame to every one of them.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        lane: Lane,
        sql: Queries,
        *,
        schema: str,
        channel: str,
        notify: NotifyMode,
        notifier: Notifier,
        listener: Listener,
        group_commit: bool,
    ) -> None:
        self._pool = pool
        self._lane = lane
        self._sql = sql
        self._schema = schema
        self._channel = channel
        self._notify = notify
        self._notifier = notifier
        self._listener = listener
        self._group = GroupCommitter(self._send_group, self._send_one) if group_commit else None

    async def append(self, request: AppendRequest) -> AppendOutcome:
        """Write the request: one stream in one round trip, several in one transaction."""
        writes = request.writes
        connection = request.session
        if len(writes) > 1:
            outcome = await append_many(
                writes,
                connection,
                pool=self._pool,
                sql=self._sql,
                notify=self._notify,
                notifier=self._notifier,
                schema=self._schema,
            )
        else:
            write = writes[0]
            stream_id = write.stream_id
            events = write.events
            code = expected_code(write.expected)
            group = (
                self._group
                if connection is None and self._notify is not NotifyMode.IN_TRANSACTION
                else None
            )
            alone = group is None or group.idle
            ids = [event.event_id for event, _, _ in events]
            types = [event.event_type for event, _, _ in events]
            datas = [jsonb_text(data, event.data) for event, data, _ in events]
            metadatas = [jsonb_text(metadata, event.metadata) for event, _, metadata in events]
            try:
                if connection is not None:
                    # The caller's transaction: the functions, which lock the
                    # stream's row and check it, so that a REPEATABLE READ
                    # snapshot fails as a serialization error, never a
                    # silent mismatch.
                    channel = None if self._notify is NotifyMode.OFF else self._channel
                    query, args = self._statement_for(stream_id, code, ids, types, datas, metadatas)
                    row = await connection.fetchrow(query, *args, channel)
                    outcome = function_outcome(row, stream_id)
                elif not alone:
                    assert group is not None
                    outcome = await group.submit(stream_id, code, ids, types, datas, metadatas)
                elif group is not None:
                    # Nothing of ours in flight: sent from this task, and what
                    # queues up meanwhile goes as a group behind it.
                    group.hold()
                    try:
                        outcome = await self._send(
                            *self._statement_for(stream_id, code, ids, types, datas, metadatas)
                        )
                    finally:
                        group.release()
                else:
                    outcome = await self._send(
                        *self._statement_for(stream_id, code, ids, types, datas, metadatas)
                    )
            except LOST_RACE:
                # Either aborted the caller's transaction, if any.
                return Rejected(0, None, session_aborted=connection is not None)
            except DRIVER_ERRORS as error:
                raise translate_error(error, schema=self._schema) from error
        if connection is None and isinstance(outcome, Appended):
            self._listener.wake()
            if self._notify is NotifyMode.AFTER_COMMIT:
                await self._send_notify()
        return outcome

    # --- one stream on the store's connections -----------------------------------

    async def _send(self, query: str, args: tuple[Any, ...]) -> AppendOutcome:
        # One append statement on the store's own connections; `args` lack
        # the last parameter, the channel to NOTIFY inside the transaction.
        if self._notify is not NotifyMode.COALESCED:
            channel = self._channel if self._notify is NotifyMode.IN_TRANSACTION else None
            return await self._statement(query, args, channel)
        notifier = self._notifier
        channel = notifier.take_due()
        try:
            outcome = await self._statement(query, args, channel)
        except BaseException:
            if channel is not None:
                notifier.poke()  # the NOTIFY it carried may not have gone out
            raise
        if channel is None:
            if isinstance(outcome, Appended):
                notifier.poke()  # committed, not announced yet
        elif not isinstance(outcome, Appended):
            notifier.poke()  # no commit, so no NOTIFY: still owed
        return outcome

    async def _statement(
        self, query: str, args: tuple[Any, ...], channel: str | None
    ) -> AppendOutcome:
        # An exact expected version takes the one-statement path
        # (Queries.append_next and its kin); the functions serve the other
        # codes.
        code = args[1]
        if code < 0:
            return function_outcome(await self._lane.fetchrow(query, *args, channel), args[0])
        sql = self._sql
        if query is sql.append_one:
            statement, count = (sql.append_next if code else sql.append_new), 1
        else:
            statement, count = (sql.append_next_many if code else sql.append_new_many), len(args[2])
        # The row: (transaction id, position, the NOTIFY's result). No row,
        # or a NULL position, when the stream's row did not hold `code`.
        row = await self._lane.fetchrow(statement, *args, channel)
        if row is None or row[1] is None:
            return _NOT_CLAIMED
        position = row[1]
        return Appended(
            (
                AppendResult(
                    stream_id=args[0],
                    version=code + count,
                    global_position=position,
                    position=Position.pair(row[0], position),
                ),
            )
        )

    def _statement_for(
        self,
        stream_id: str,
        code: int,
        ids: list[Any],
        types: list[str],
        datas: list[str],
        metadatas: list[str],
    ) -> tuple[str, tuple[Any, ...]]:
        """The statement of one append sent alone, and its arguments but the channel.

        One event (the common case) takes scalar parameters (append_next or
        append_new, else append_event()); a batch, arrays.
        """
        if len(ids) == 1:
            return self._sql.append_one, (stream_id, code, ids[0], types[0], datas[0], metadatas[0])
        return self._sql.append, (stream_id, code, ids, types, datas, metadatas)

    # --- group commit --------------------------------------------------------------

    async def _send_one(self, pending: Pending) -> AppendOutcome:
        # A group of one, or a group's append sent again on its own.
        return await self._send(
            *self._statement_for(
                pending.stream_id,
                pending.code,
                pending.ids,
                pending.types,
                pending.datas,
                pending.metadatas,
            )
        )

    async def _send_group(self, group: Sequence[Pending]) -> list[AppendOutcome]:
        ids: list[Any] = []
        types: list[str] = []
        datas: list[str] = []
        metadatas: list[str] = []
        for pending in group:
            ids += pending.ids
            types += pending.types
            datas += pending.datas
            metadatas += pending.metadatas
        stream_ids = [pending.stream_id for pending in group]
        codes = [pending.code for pending in group]
        counts = [len(pending.ids) for pending in group]
        if min(codes) >= 0 and len(set(stream_ids)) == len(stream_ids):
            # The common group: one statement, no function (append_group_exact).
            owners: list[int] = []
            places: list[int] = []
            for owner, count in enumerate(counts, 1):
                owners += [owner] * count
                places += range(1, count + 1)
            rows = await self._lane.fetch(
                self._sql.append_group_exact,
                stream_ids,
                codes,
                counts,
                owners,
                places,
                ids,
                types,
                datas,
                metadatas,
            )
        else:
            rows = await self._lane.fetch(
                self._sql.append_group, stream_ids, codes, counts, ids, types, datas, metadatas
            )
        outcomes = [
            function_outcome(row, stream_id)
            for row, stream_id in zip(rows, stream_ids, strict=True)
        ]
        if self._notify is NotifyMode.COALESCED and any(
            isinstance(outcome, Appended) for outcome in outcomes
        ):
            self._notifier.poke()
        return outcomes

    async def _send_notify(self) -> None:
        try:
            await self._notifier.send()
        except DRIVER_ERRORS as error:
            # The append is committed; live readers fall back to polling.
            logger.warning("notify failed", error=repr(error))

    async def _wait_for_groups(self) -> None:
        # At close: the group commits in flight finish first.
        if self._group is not None:
            await self._group.close()
