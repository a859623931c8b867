"""The PostgreSQL event store on asyncpg: the production backend.

One append is one round trip. With an exact expected version on the store's
own connections (the common case) it is one statement that claims the
stream's row in ``streams`` at that version and inserts the events from it
(`Queries.append_next` and its kin); otherwise the ``append_events()`` /
``append_event()`` functions of ``store/postgres/0007_append_functions.sql``
(lock the stream's row, check the version and the first event id, insert).
Appends queued while another is in flight share one ``append_group()``
transaction (`_postgres_group`). Readers follow the gap-free global order
explained in `_postgres_queries`. Payloads travel as JSON text both ways and
are decoded with orjson, so the store works on any pool, whatever JSON
codecs its owner installed on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import math
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal

import asyncpg
import orjson
import structlog

from eventsourcing_kit.errors import (
    ConcurrencyError,
    ConfigurationError,
    DuplicateEventError,
    StoreClosedError,
    StoreError,
    TransientStoreError,
)
from eventsourcing_kit.serialization._json import dumps, loads
from eventsourcing_kit.stores._records import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    Position,
    RecordedEvent,
    Snapshot,
)
from eventsourcing_kit.stores.postgres._connect import (
    DEFAULT_CONNECT_TIMEOUT,
    QuietReset,
    check_dsn,
    create_pool,
    open_connection,
    server_settings,
    split_schema,
)
from eventsourcing_kit.stores.postgres._errors import translate_error
from eventsourcing_kit.stores.postgres._group import GroupCommitter, Pending
from eventsourcing_kit.stores.postgres._jsonb import jsonb_text
from eventsourcing_kit.stores.postgres._lane import Lane
from eventsourcing_kit.stores.postgres._legacy import (
    EncodedEvent,
    Expected,
    encode_events,
    resolve_retry,
    validate_batch_size,
    validate_event_types,
    validate_expected_version,
    validate_from_version,
    validate_stream_id,
    validate_subscription_id,
)
from eventsourcing_kit.stores.postgres._legacy_base import (
    DEFAULT_BATCH_SIZE,
    CheckpointTransaction,
    EventStore,
)
from eventsourcing_kit.stores.postgres._migrations import (
    DEFAULT_SCHEMA,
    migrate,
    validate_schema_name,
)
from eventsourcing_kit.stores.postgres._notify import Listener, Notifier, NotifyMode, channel_for
from eventsourcing_kit.stores.postgres._positions import START, validate_position
from eventsourcing_kit.stores.postgres._queries import Queries

__all__ = ["PostgresEventStore"]

logger = structlog.get_logger(__name__)

_DRIVER_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
    TimeoutError,
)
_EXPECTED_CODES = {ExpectedVersion.ANY: -1, ExpectedVersion.NO_STREAM: 0}
_STREAM_EXISTS_CODE = -2
_CALLER_ABORTED = (
    "the failed insert aborted your transaction (its COMMIT would roll back): roll it back"
)

DEFAULT_VISIBILITY_WAIT = 2.0
DEFAULT_NOTIFY_DELAY = 0.002

NotifyOption = Literal["coalesced", "after_commit", "in_transaction", "off"]


_from_stored = RecordedEvent.from_stored


def _record(row: Any) -> RecordedEvent:
    # The read paths' per-row cost: orjson directly (JSONB text needs no
    # checks), and no attrs __init__.
    stream_id, version, event_type, data, metadata, event_id, position, xid, at = row
    return _from_stored(
        stream_id,
        version,
        event_type,
        orjson.loads(data),
        orjson.loads(metadata),
        event_id,
        position,
        (xid, position),
        at,
    )


class PostgresEventStore(EventStore):
    """An event store in a PostgreSQL schema (``postgresql://``).

    Open one with `open` (from a DSN; the store owns and closes its pool) or
    `from_pool` (on an ``asyncpg.Pool`` you own: `close` leaves it open).
    Positions are pairs ``(transaction id, global position)``; see
    docs/postgres.md for the order they follow and why it never skips.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        schema: str = DEFAULT_SCHEMA,
        owns_pool: bool = False,
        notify: NotifyOption = "coalesced",
        visibility_wait: float = DEFAULT_VISIBILITY_WAIT,
        notify_delay: float = DEFAULT_NOTIFY_DELAY,
        quiet_reset: QuietReset | None = None,
        notify_connect: Callable[[], Awaitable[asyncpg.Connection]] | None = None,
        group_commit: bool = True,
    ) -> None:
        """Prefer `open` or `from_pool`, which also migrate the schema."""
        super().__init__()
        self._pool = pool
        self._schema = validate_schema_name(schema)
        self._owns_pool = owns_pool
        self._notify = NotifyMode(notify)
        self._sql = Queries.for_schema(schema)
        self._channel = channel_for(schema)
        self._notifier = Notifier(
            pool, self._channel, delay=_check_delay(notify_delay), connect=notify_connect
        )
        self._listener = Listener(pool, self._channel)
        # quiet_reset is set on the store's own pool only: a user's pool
        # keeps its reset.
        self._lane = Lane(pool, quiet_reset=quiet_reset)
        self._visibility_wait = visibility_wait
        self._group = (
            GroupCommitter(self._send_group, self._send_one) if _check_flag(group_commit) else None
        )
        self._closed = False

    @classmethod
    async def open(
        cls,
        dsn: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
        statement_timeout: float | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        migrate: bool = True,
        notify: NotifyOption = "coalesced",
        visibility_wait: float = DEFAULT_VISIBILITY_WAIT,
        notify_delay: float = DEFAULT_NOTIFY_DELAY,
        group_commit: bool = True,
    ) -> PostgresEventStore:
        """Connect to `dsn` with a pool of its own, migrating `schema` first.

        `schema` defaults to the DSN's ``?schema=NAME``, else ``eventsourcing``.

        `statement_timeout` (seconds) bounds every statement on the pool's
        connections; `migrate=False` skips applying pending migrations (run
        ``eventsourcing-kit migrate`` instead). `notify` chooses when appends
        wake live readers (see `NotifyMode`); with ``"coalesced"``, other
        processes' readers hear of an append up to `notify_delay` seconds
        (plus a round trip) after it commits, so that bursts share one NOTIFY.
        `visibility_wait` (seconds) bounds how long a reader at the end of the log waits for older
        transactions still running, so that it returns events that already
        committed (see `_settle`). `group_commit` (on by default) sends the
        appends that queue up while one of this store's appends is in flight
        in one transaction (see `_postgres_group`); False gives every append
        a transaction of its own. Raises
        `StoreUnavailableError` when the server cannot be reached.
        """
        dsn, url_schema = split_schema(check_dsn(dsn))
        if schema is not None and url_schema is not None and schema != url_schema:
            raise ConfigurationError(
                f"the DSN names schema {url_schema!r} and the schema option {schema!r}; "
                "give one of them"
            )
        schema = validate_schema_name(schema or url_schema or DEFAULT_SCHEMA)
        NotifyMode(notify)
        _check_delay(notify_delay)
        _check_flag(group_commit)
        quiet_reset = QuietReset()
        pool = await create_pool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            timeout=connect_timeout,
            statement_timeout=statement_timeout,
            reset=quiet_reset,
        )
        try:
            if migrate:
                await _migrate(pool, schema)
            return cls(
                pool,
                schema=schema,
                owns_pool=True,
                notify=notify,
                visibility_wait=visibility_wait,
                notify_delay=notify_delay,
                quiet_reset=quiet_reset,
                notify_connect=functools.partial(
                    open_connection,
                    dsn,
                    timeout=connect_timeout,
                    server_settings=server_settings(statement_timeout),
                ),
                group_commit=group_commit,
            )
        except BaseException:
            await pool.close()
            raise

    @classmethod
    async def from_pool(
        cls,
        pool: asyncpg.Pool,
        *,
        schema: str = DEFAULT_SCHEMA,
        migrate: bool = True,
        notify: NotifyOption = "coalesced",
        visibility_wait: float = DEFAULT_VISIBILITY_WAIT,
        notify_delay: float = DEFAULT_NOTIFY_DELAY,
        group_commit: bool = True,
    ) -> PostgresEventStore:
        """A store on your `pool`; `close` leaves the pool open.

        The pool keeps its own ``reset``; asyncpg's default sends one more
        round trip on every release (see docs/postgres.md, "Your own pool").
        """
        validate_schema_name(schema)
        NotifyMode(notify)
        _check_delay(notify_delay)
        _check_flag(group_commit)
        if migrate:
            await _migrate(pool, schema)
        return cls(
            pool,
            schema=schema,
            owns_pool=False,
            notify=notify,
            visibility_wait=visibility_wait,
            notify_delay=notify_delay,
            group_commit=group_commit,
        )

    @property
    def pool(self) -> asyncpg.Pool:
        """The asyncpg pool the store runs on."""
        return self._pool

    @property
    def schema(self) -> str:
        """The PostgreSQL schema holding the store's tables."""
        return self._schema

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError()

    # --- writing -------------------------------------------------------------

    async def append_events(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | ExpectedVersion = ExpectedVersion.ANY,
        connection: asyncpg.Connection | None = None,
    ) -> AppendResult:
        """Append atomically; see `EventStore.append_events`.

        `connection`: append on your connection, inside your open transaction,
        so that the events commit or roll back with your other writes. Without
        one the append is its own transaction on the store's pool.
        """
        self._check_open()
        validate_stream_id(stream_id)
        expected = validate_expected_version(expected_version)
        encoded = encode_events(events)
        if isinstance(expected, int):
            code = expected
        else:
            code = _EXPECTED_CODES.get(expected, _STREAM_EXISTS_CODE)
        query: str
        args: tuple[Any, ...]
        group = (
            self._group
            if connection is None and self._notify is not NotifyMode.IN_TRANSACTION
            else None
        )
        alone = group is None or group.idle
        if len(encoded) == 1 and alone:
            # One event (the common case): scalar parameters (append_next or
            # append_new, else append_event()).
            event, data, metadata = encoded[0]
            query = self._sql.append_one
            args = (
                stream_id,
                code,
                event.event_id,
                event.event_type,
                jsonb_text(data, event.data),
                jsonb_text(metadata, event.metadata),
            )
        else:
            ids: list[Any] = []
            types: list[str] = []
            datas: list[str] = []
            metadatas: list[str] = []
            for event, data, metadata in encoded:
                ids.append(event.event_id)
                types.append(event.event_type)
                datas.append(jsonb_text(data, event.data))
                metadatas.append(jsonb_text(metadata, event.metadata))
            query = self._sql.append
            args = (stream_id, code, ids, types, datas, metadatas)
        try:
            if connection is not None:
                channel = None if self._notify is NotifyMode.OFF else self._channel
                row = await connection.fetchrow(query, *args, channel)
            elif not alone:
                assert group is not None
                row = await group.submit(stream_id, code, ids, types, datas, metadatas)
            elif group is not None:
                # Nothing of ours in flight: sent from this task, and what
                # queues up meanwhile goes as a group behind it.
                group.hold()
                try:
                    row = await self._send(query, args)
                finally:
                    group.release()
            else:
                row = await self._send(query, args)
        except (asyncpg.UniqueViolationError, asyncpg.SerializationError) as error:
            return await self._after_lost_race(stream_id, encoded, expected, error, connection)
        except _DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error
        assert row is not None
        if row[0]:
            return await self._after_conflict(stream_id, encoded, expected, row[1], connection)
        if connection is None:
            self._listener.wake()
            if self._notify is NotifyMode.AFTER_COMMIT:
                await self._send_notify()
        return AppendResult(
            stream_id=stream_id, version=row[1], global_position=row[3], position=(row[2], row[3])
        )

    async def _send(self, query: str, args: tuple[Any, ...]) -> Any:
        # One append statement on the store's own connections; `args` lack
        # the last parameter, the channel to NOTIFY inside the transaction.
        if self._notify is not NotifyMode.COALESCED:
            channel = self._channel if self._notify is NotifyMode.IN_TRANSACTION else None
            return await self._statement(query, args, channel)
        notifier = self._notifier
        channel = notifier.take_due()
        try:
            row = await self._statement(query, args, channel)
        except BaseException:
            if channel is not None:
                notifier.poke()  # the NOTIFY it carried may not have gone out
            raise
        if channel is None:
            if not row[0]:
                notifier.poke()  # committed, not announced yet
        elif row[0]:
            notifier.poke()  # no commit, so no NOTIFY: still owed
        return row

    async def _statement(self, query: str, args: tuple[Any, ...], channel: str | None) -> Any:
        # The row of append_event()/append_events(): (conflict, version,
        # transaction id, position). An exact expected version takes the
        # one-statement path instead (Queries.append_next and its kin), whose
        # conflicts carry no version; the functions serve the other codes.
        code = args[1]
        if code < 0:
            return await self._lane.fetchrow(query, *args, channel)
        sql = self._sql
        if query is sql.append_one:
            statement, count = (sql.append_next if code else sql.append_new), 1
        else:
            statement, count = (sql.append_next_many if code else sql.append_new_many), len(args[2])
        row = await self._lane.fetchrow(statement, *args, channel)
        if row is not None and row[1] is not None:
            return (False, code + count, row[0], row[1])
        return (True, None, None, None)  # the version is read if it is a conflict

    async def _send_one(self, pending: Pending) -> Any:
        # A group of one, or a group's append sent again on its own.
        query: str
        args: tuple[Any, ...]
        if len(pending.ids) == 1:
            query = self._sql.append_one
            args = (
                pending.stream_id,
                pending.code,
                pending.ids[0],
                pending.types[0],
                pending.datas[0],
                pending.metadatas[0],
            )
        else:
            query = self._sql.append
            args = (
                pending.stream_id,
                pending.code,
                pending.ids,
                pending.types,
                pending.datas,
                pending.metadatas,
            )
        return await self._send(query, args)

    async def _send_group(self, group: Sequence[Pending]) -> list[Any]:
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
        if self._notify is NotifyMode.COALESCED and not all(row[0] for row in rows):
            self._notifier.poke()
        return rows

    async def _send_notify(self) -> None:
        try:
            await self._notifier.send()
        except _DRIVER_ERRORS as error:
            # The append is committed; live readers fall back to polling.
            logger.warning("notify failed", error=repr(error))

    async def _after_conflict(
        self,
        stream_id: str,
        encoded: Sequence[EncodedEvent],
        expected: Expected,
        actual: int | None,
        connection: asyncpg.Connection | None,
    ) -> AppendResult:
        # A version mismatch, or ids already stored (0007 looks them up before
        # inserting): maybe the retry of an append whose reply was lost.
        retried = resolve_retry(
            stream_id, encoded, expected, await self._stored(encoded, connection)
        )
        if retried is not None:
            return retried
        if actual is None:
            # The claim statements (append_next and its kin, append_group_exact)
            # only say that the stream's row did not hold the expected version.
            actual = await self.stream_version(stream_id)
        logger.debug("append conflict", stream_id=stream_id, expected=expected, actual=actual)
        raise ConcurrencyError(stream_id, expected=expected, actual=actual)

    async def _after_lost_race(
        self,
        stream_id: str,
        encoded: Sequence[EncodedEvent],
        expected: Expected,
        error: asyncpg.UniqueViolationError | asyncpg.SerializationError,
        connection: asyncpg.Connection | None,
    ) -> AppendResult:
        # A unique violation: ids inserted by a transaction that had not yet
        # committed, or an id reused by an append the one-statement path
        # sent (it does not look ids up first). A serialization failure: a
        # caller's REPEATABLE READ snapshot older than the stream's row. The
        # failed statement aborted the caller's transaction, if any: look up
        # on the pool, which sees what is committed.
        try:
            retried = resolve_retry(stream_id, encoded, expected, await self._stored(encoded))
        except DuplicateEventError as duplicate:
            if connection is not None:
                duplicate.add_note(_CALLER_ABORTED)
            raise duplicate from error
        if retried is not None:
            if connection is None:
                return retried
            # Never a success: the caller's COMMIT would silently roll back.
            raise TransientStoreError(
                f"append to stream {stream_id!r} is a retry of events already stored, but "
                f"it ran in your transaction, whose snapshot predates them; {_CALLER_ABORTED} "
                "and run it again (the retry then returns the stored result)"
            ) from error
        # (stream_id, version): a caller's REPEATABLE READ transaction read an
        # old version; it is a lost race like any other.
        actual = await self.stream_version(stream_id)
        conflict = ConcurrencyError(stream_id, expected=expected, actual=actual)
        if connection is not None:
            conflict.add_note(_CALLER_ABORTED)
        raise conflict from error

    async def _stored(
        self, encoded: Sequence[EncodedEvent], connection: asyncpg.Connection | None = None
    ) -> list[RecordedEvent | None]:
        ids = [event.event_id for event, _, _ in encoded]
        try:
            if connection is None:
                rows = await self._lane.fetch(self._sql.by_event_ids, ids)
            else:
                rows = await connection.fetch(self._sql.by_event_ids, ids)
        except _DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error
        found = {row[5]: _record(row) for row in rows}
        return [found.get(event_id) for event_id in ids]

    # --- reading -------------------------------------------------------------

    def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> AsyncIterator[RecordedEvent]:
        self._check_open()
        validate_stream_id(stream_id)
        validate_from_version(from_version)
        validate_batch_size(batch_size)
        return self._read_stream(stream_id, from_version, batch_size)

    async def _read_stream(
        self, stream_id: str, version: int, batch_size: int
    ) -> AsyncIterator[RecordedEvent]:
        while True:
            rows = await self._fetch(self._sql.read_stream, stream_id, version, batch_size)
            for row in rows:
                yield _record(row)
            if len(rows) < batch_size:
                return
            version = rows[-1][1] + 1

    def _read_global(
        self,
        category: str | None,
        from_position: Position | None,
        event_types: Iterable[str] | None,
        batch_size: int,
    ) -> AsyncIterator[RecordedEvent]:
        self._check_open()
        after = START if from_position is None else validate_position(from_position)
        types = validate_event_types(event_types)
        validate_batch_size(batch_size)
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
        return self._scan(query, held, after, batch_size, extra)

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
        rows = await self._fetch(query, after[0], after[1], batch_size, *extra)
        while True:
            if rows:
                after = (rows[-1][7], rows[-1][6])
            ahead: asyncio.Task[list[Any]] | None = None
            if len(rows) >= batch_size:
                ahead = asyncio.ensure_future(
                    self._fetch(query, after[0], after[1], batch_size, *extra)
                )
                # Let the task send its query now: a caller that consumes
                # without awaiting anything else would otherwise give the
                # loop no turn until this page is done, and the page ahead
                # would only be asked for when it is needed.
                await asyncio.sleep(0)
            try:
                # Decoded whole first, inline (_record's body): a comprehension
                # costs less per row than resuming this generator between rows.
                decode = orjson.loads
                for event in [
                    _from_stored(
                        r[0], r[1], r[2], decode(r[3]), decode(r[4]), r[5], r[6], (r[7], r[6]), r[8]
                    )
                    for r in rows
                ]:
                    yield event
            except BaseException:
                if ahead is not None:
                    # The caller stopped early (or failed): drop the page ahead.
                    ahead.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await ahead
                raise
            if ahead is not None:
                rows = await ahead
                continue
            # At the end, once: if committed events are held back by older
            # transactions still running, wait for those and read on.
            if settled or not await self._settle(after, held, extra):
                return
            settled = True
            rows = await self._fetch(query, after[0], after[1], batch_size, *extra)

    async def _settle(
        self, after: tuple[int, int], held: str | None = None, extra: tuple[Any, ...] = ()
    ) -> bool:
        """Wait until the events stored after `after` can be delivered.

        `held` (default: every event) is the ``held_back`` query matching
        the reader's filter, `extra` its filter arguments: a category reader
        neither waits for nor reads again for other categories' events.

        True when there are such events (the caller reads once more). Events
        of a committed transaction are held back while an older one is still
        running (see _postgres_queries). Such transactions are usually
        milliseconds long, so a reader that just saw its own append commit
        waits for them rather than end without it. The wait is bounded by
        `visibility_wait`: a long transaction elsewhere delays the events to a
        later read, it never makes a reader skip them.
        """
        if self._visibility_wait <= 0:
            return False
        top_xid, top_position, xmin = await self._fetchrow(
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
            if (await self._fetchrow(self._sql.xmin))[0] > top:
                return True
        logger.info(
            "events held back by a long-running transaction",
            schema=self._schema,
            transaction_id=top,
            oldest_running=xmin,
            waited_s=self._visibility_wait,
        )
        return True

    async def _fetch(self, query: str, *args: Any) -> list[Any]:
        self._check_open()
        try:
            return await self._lane.fetch(query, *args)
        except _DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error

    async def _fetchrow(self, query: str, *args: Any) -> Any:
        self._check_open()
        try:
            return await self._lane.fetchrow(query, *args)
        except _DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error

    async def stream_version(self, stream_id: str) -> int:
        self._check_open()
        validate_stream_id(stream_id)
        row = await self._fetchrow(self._sql.stream_version, stream_id)
        return 0 if row is None else int(row[0])

    async def head_position(self) -> Position | None:
        self._check_open()
        await self._settle(START)
        row = await self._fetchrow(self._sql.head_position)
        return None if row is None else (row[0], row[1])

    @property
    def start_position(self) -> Position:
        return START

    # --- snapshots -----------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        self._check_open()
        validate_stream_id(snapshot.stream_id)
        data = jsonb_text(dumps(snapshot.data, what="snapshot data"), snapshot.data)
        await self._fetch(
            self._sql.save_snapshot,
            snapshot.stream_id,
            snapshot.version,
            snapshot.state_schema,
            data,
        )

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        self._check_open()
        validate_stream_id(stream_id)
        row = await self._fetchrow(self._sql.load_snapshot, stream_id)
        if row is None:
            return None
        return Snapshot(
            stream_id=row[0],
            version=row[1],
            state_schema=row[2],
            data=loads(row[3]),
            recorded_at=row[4],
        )

    # --- subscription checkpoints --------------------------------------------

    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        self._check_open()
        validate_subscription_id(subscription_id)
        row = await self._fetchrow(self._sql.load_checkpoint, subscription_id)
        return None if row is None else (row[0], row[1])

    async def save_checkpoint(self, subscription_id: str, position: Position) -> None:
        self._check_open()
        validate_subscription_id(subscription_id)
        xid, global_position = validate_position(position)
        await self._fetch(self._sql.save_checkpoint, subscription_id, xid, global_position)

    async def delete_checkpoint(self, subscription_id: str) -> None:
        self._check_open()
        validate_subscription_id(subscription_id)
        await self._fetch(self._sql.delete_checkpoint, subscription_id)

    def checkpoint_transaction(
        self, subscription_id: str
    ) -> AbstractAsyncContextManager[CheckpointTransaction]:
        """A transaction on one pool connection that ends by storing the checkpoint.

        `CheckpointTransaction.connection` is that ``asyncpg.Connection``:
        read-model writes made through it commit together with the
        checkpoint, or not at all (exactly-once processing).
        """
        self._check_open()
        validate_subscription_id(subscription_id)
        return self._checkpoint_transaction(subscription_id)

    @asynccontextmanager
    async def _checkpoint_transaction(
        self, subscription_id: str
    ) -> AsyncIterator[CheckpointTransaction]:
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                unit = CheckpointTransaction(connection)
                yield unit
                if unit.position is not None:
                    xid, global_position = validate_position(unit.position)
                    await connection.execute(
                        self._sql.save_checkpoint, subscription_id, xid, global_position
                    )
        except _DRIVER_ERRORS as error:
            raise translate_error(error, schema=self._schema) from error

    # --- live delivery -------------------------------------------------------

    async def wait_for_events(self, *, timeout: float) -> bool:
        """Wait for a NOTIFY from any process's append, or `timeout` seconds.

        LISTENs on one pool connection from the first call until `close`.
        """
        self._check_open()
        return await self._listener.wait(timeout)

    # --- lifecycle -----------------------------------------------------------

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._group is not None:
            await self._group.close()
        await self._lane.close()
        await self._notifier.close()
        await self._listener.close()
        if self._owns_pool:
            await self._pool.close()


def _check_flag(group_commit: object) -> bool:
    if not isinstance(group_commit, bool):
        raise ConfigurationError(
            f"group_commit={group_commit!r}: give True or False (default True)"
        )
    return group_commit


def _check_delay(delay: object) -> float:
    if (
        isinstance(delay, bool)
        or not isinstance(delay, int | float)
        or not math.isfinite(delay)
        or not 0 <= delay <= 1
    ):
        raise ConfigurationError(
            f"notify_delay={delay!r}: give the seconds to gather appends into one NOTIFY, "
            f"from 0 to 1 (default {DEFAULT_NOTIFY_DELAY})"
        )
    return float(delay)


async def _migrate(pool: asyncpg.Pool, schema: str) -> None:
    try:
        await migrate(pool, schema=schema)
    except StoreError:
        raise
    except _DRIVER_ERRORS as error:
        raise translate_error(error, schema=schema) from error
