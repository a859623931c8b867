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

from eventsourcing_kit._logging import get_logger
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
from eventsourcing_kit.stores.postgres._lane import Lane
from eventsourcing_kit.stores.postgres._loop import LoopBound
from eventsourcing_kit.stores.postgres._many import append_many
from eventsourcing_kit.stores.postgres._notify import Listener, Notifier, NotifyMode
from eventsourcing_kit.stores.postgres._queries import Queries
from eventsourcing_kit.stores.postgres._rows import (
    LOST_RACE,
    EncodedAppend,
    encode_append,
    function_outcome,
)

__all__ = ["Appends"]

logger = get_logger(__name__)

# The one-statement paths' conflict: the stream's row did not hold the
# expected version. The statement does not read the version; the core does.
_NOT_CLAIMED = Rejected(0)


class Appends(LoopBound):
    """The append paths of the PostgreSQL driver.

    A base class of `PostgresDriver` rather than a part it delegates to:
    the core awaits `append` once per append, and a delegating coroutine
    would add a frame to every one of them. For the same reason `append`
    asks for the driver's own loop itself.
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
        LoopBound.__init__(self)
        self._pool = pool
        self._lane = lane
        self._sql = sql
        self._schema = schema
        self._channel = channel
        self._notify = notify
        self._notifier = notifier
        self._listener = listener
        # Appends that NOTIFY inside their own transaction are sent one by one.
        self._group = (
            GroupCommitter(self._send_group, self._send)
            if group_commit and notify is not NotifyMode.IN_TRANSACTION
            else None
        )

    async def append(self, request: AppendRequest) -> AppendOutcome:
        """Write the request: one stream in one round trip, several in one transaction."""
        self._check_loop()
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
            append = encode_append(writes[0])
            group = self._group
            try:
                if connection is not None:
                    outcome = await self._in_transaction(connection, append)
                elif group is None:
                    outcome = await self._send(append)
                elif group.idle:
                    # Nothing of ours in flight: sent from this task, and what
                    # queues up meanwhile goes as a group behind it.
                    group.hold()
                    try:
                        outcome = await self._send(append)
                    finally:
                        group.release()
                else:
                    outcome = await group.submit(append)
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

    # --- one stream ----------------------------------------------------------------

    async def _in_transaction(self, connection: Any, append: EncodedAppend) -> AppendOutcome:
        # The caller's transaction: the functions, which lock the stream's
        # row and check it, so that a REPEATABLE READ snapshot fails as a
        # serialization error, never a silent mismatch.
        channel = None if self._notify is NotifyMode.OFF else self._channel
        row = await connection.fetchrow(*self._function_call(append), channel)
        return function_outcome(row, append.stream_id)

    async def _send(self, append: EncodedAppend) -> AppendOutcome:
        # One append statement on the store's own connections, with the
        # channel to NOTIFY inside its transaction, if one is owed.
        if self._notify is not NotifyMode.COALESCED:
            channel = self._channel if self._notify is NotifyMode.IN_TRANSACTION else None
            return await self._statement(append, channel)
        notifier = self._notifier
        channel = notifier.take_due()
        try:
            outcome = await self._statement(append, channel)
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

    async def _statement(self, append: EncodedAppend, channel: str | None) -> AppendOutcome:
        # An exact expected version takes the one-statement path
        # (Queries.append_next and its kin); the functions serve the other
        # codes.
        code = append.code
        if code < 0:
            row = await self._lane.fetchrow(*self._function_call(append), channel)
            return function_outcome(row, append.stream_id)
        sql = self._sql
        count = len(append.ids)
        if count == 1:
            row = await self._lane.fetchrow(
                sql.append_next if code else sql.append_new,
                append.stream_id,
                code,
                append.ids[0],
                append.types[0],
                append.datas[0],
                append.metadatas[0],
                channel,
            )
        else:
            row = await self._lane.fetchrow(
                sql.append_next_many if code else sql.append_new_many, *append, channel
            )
        # The row: (transaction id, position, the NOTIFY's result). No row,
        # or a NULL position, when the stream's row did not hold `code`.
        if row is None or row[1] is None:
            return _NOT_CLAIMED
        position = row[1]
        return Appended(
            (
                AppendResult(
                    stream_id=append.stream_id,
                    version=code + count,
                    global_position=position,
                    position=Position.pair(row[0], position),
                ),
            )
        )

    def _function_call(self, append: EncodedAppend) -> tuple[Any, ...]:
        """The call of ``append_event()`` (one event: scalar parameters) or
        ``append_events()`` for `append`, but its last parameter, the channel."""
        if len(append.ids) == 1:
            return (
                self._sql.append_one,
                append.stream_id,
                append.code,
                append.ids[0],
                append.types[0],
                append.datas[0],
                append.metadatas[0],
            )
        return (self._sql.append, *append)

    # --- group commit --------------------------------------------------------------

    async def _send_group(self, group: Sequence[Pending]) -> list[AppendOutcome]:
        ids: list[Any] = []
        types: list[str] = []
        datas: list[str] = []
        metadatas: list[str] = []
        appends = [pending.append for pending in group]
        for append in appends:
            ids += append.ids
            types += append.types
            datas += append.datas
            metadatas += append.metadatas
        stream_ids = [append.stream_id for append in appends]
        codes = [append.code for append in appends]
        counts = [len(append.ids) for append in appends]
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
