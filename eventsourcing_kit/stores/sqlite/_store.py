"""The SQLite event store: the embedded default (``sqlite:///path.db``).

One file in WAL mode, shared safely by many tasks and by several processes.
Each store keeps two connections, each on its own thread so that the event
loop never waits on SQLite: a writer, behind an asyncio lock, and a reader,
which in WAL mode never waits for writers. Global positions are the rowids
of the events table, whose order is the commit order (see
store/sqlite/002_events.sql), so positions are plain ints.

Live delivery: `wait_for_events` wakes only on appends made through this
store object, in this process. SQLite has no cross-process notification, so
a subscription sees another process's appends at its next poll, after up to
its `poll_interval`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import structlog

from eventsourcing_kit.errors import ConfigurationError, InvalidInputError, StoreClosedError
from eventsourcing_kit.serialization._json import dumps
from eventsourcing_kit.stores._base import DEFAULT_BATCH_SIZE, CheckpointTransaction, EventStore
from eventsourcing_kit.stores._ddl import sql_files
from eventsourcing_kit.stores._records import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    Position,
    RecordedEvent,
    Snapshot,
)
from eventsourcing_kit.stores._validation import (
    encode_events,
    validate_batch_size,
    validate_event_types,
    validate_expected_version,
    validate_from_version,
    validate_int_position,
    validate_stream_id,
    validate_subscription_id,
)
from eventsourcing_kit.stores.sqlite import _ops as ops
from eventsourcing_kit.stores.sqlite._errors import translate_error
from eventsourcing_kit.stores.sqlite._setup import MIN_SQLITE_VERSION, migrate, open_connection

__all__ = ["SQLiteEventStore"]

logger = structlog.get_logger(__name__)

T = TypeVar("T")

_SYNCHRONOUS = ("NORMAL", "FULL", "EXTRA")

# The checkpoint transactions open in this context, of any store. A context
# var, not the task: tasks started inside the block (asyncio.wait_for, gather
# over coroutines) copy the context and so join the transaction, instead of
# waiting for the write lock their parent holds until it ends.
_OPEN_TRANSACTIONS: ContextVar[tuple[_Transaction, ...]] = ContextVar(
    "eventsourcing_kit_sqlite_transactions", default=()
)


class _Transaction:
    """One open checkpoint transaction, as the tasks writing in it share it."""

    __slots__ = ("appended", "ended")

    def __init__(self) -> None:
        self.appended = False  # something was appended: notify subscribers on commit
        self.ended = False  # committed or rolled back: notify at once


class _Worker:
    """One connection on one thread: its operations run one at a time, in order.

    The order matters: an operation submitted after another (a rollback after
    a cancelled append, a close after pending work) runs after it.
    """

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._connection: sqlite3.Connection | None = None

    @property
    def connection(self) -> sqlite3.Connection:
        assert self._connection is not None
        return self._connection

    async def start(self, opener: Callable[[], sqlite3.Connection]) -> None:
        # The thread keeps the connection itself, so that one opened after the
        # caller was cancelled is still there for stop() to close.
        def open_here() -> None:
            self._connection = opener()

        await asyncio.get_running_loop().run_in_executor(self._executor, open_here)

    async def run(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        return await asyncio.wrap_future(self.submit(function, *args, **kwargs))

    def submit(self, function: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        """Queue an operation now; it runs even if nobody awaits its result."""
        return self._executor.submit(function, self.connection, *args, **kwargs)

    async def stop(self) -> None:
        # Queued behind everything already submitted, a start() still opening included.
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._close_here)
        finally:
            self._executor.shutdown(wait=False)

    def _close_here(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


class SQLiteEventStore(EventStore):
    """An event store in one SQLite file, safe for many tasks and processes.

    Open it with ``connect("sqlite:///path.db")`` or `SQLiteEventStore.open`.
    """

    def __init__(self, path: str, *, writer: _Worker, reader: _Worker, busy_timeout: float) -> None:
        super().__init__()
        self._path = path
        self._writer = writer
        self._reader = reader
        self._busy_timeout = busy_timeout
        self._write_lock = asyncio.Lock()
        # The open checkpoint transaction (see _OPEN_TRANSACTIONS); None once its
        # block has ended, so that a task which outlives it writes on its own.
        self._transaction: _Transaction | None = None
        self._closed = False

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        synchronous: str = "NORMAL",
    ) -> SQLiteEventStore:
        """Open (creating it if needed) the store file at `path` and bring its schema up to date.

        `busy_timeout`: seconds an operation waits while another process holds
        the file's write lock before failing with `TransientStoreError`.
        `synchronous`: SQLite's setting, ``"NORMAL"`` (default: a commit survives
        a crash of the process, not necessarily of the OS) or ``"FULL"`` (it
        survives a power loss too, at a cost in append latency).
        """
        path = _check_path(path)
        busy_timeout = _check_busy_timeout(busy_timeout)
        mode = _check_synchronous(synchronous)
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            raise ConfigurationError(
                f"the SQLite library is version {sqlite3.sqlite_version}; the store needs "
                f"{'.'.join(map(str, MIN_SQLITE_VERSION))} or later"
            )
        files = sql_files("sqlite")
        writer = _Worker("eventsourcing-kit-sqlite-writer")
        reader = _Worker("eventsourcing-kit-sqlite-reader")
        opener = functools.partial(
            open_connection, path, busy_timeout=busy_timeout, synchronous=mode
        )
        try:
            await writer.start(functools.partial(opener, readonly=False))
            applied = await writer.run(migrate, files)
            await reader.start(functools.partial(opener, readonly=True))
        except BaseException as error:
            await reader.stop()
            await writer.stop()
            if isinstance(error, sqlite3.Error):
                raise translate_error(error, path=path, busy_timeout=busy_timeout) from error
            raise
        logger.debug("sqlite store opened", path=path, migrations_applied=applied)
        return cls(path, writer=writer, reader=reader, busy_timeout=busy_timeout)

    def __repr__(self) -> str:
        return f"<SQLiteEventStore {self._path!r}{' closed' if self._closed else ''}>"

    @property
    def path(self) -> str:
        """The store's file."""
        return self._path

    # --- plumbing ----------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError()

    async def _run(
        self, worker: _Worker, function: Callable[..., T], /, *args: Any, **kw: Any
    ) -> T:
        self._check_open()
        try:
            return await worker.run(function, *args, **kw)
        except sqlite3.Error as error:
            raise translate_error(
                error, path=self._path, busy_timeout=self._busy_timeout
            ) from error

    def _joined(self) -> _Transaction | None:
        """The open checkpoint transaction of this store, if the caller runs inside it."""
        transaction = self._transaction
        if transaction is not None and transaction in _OPEN_TRANSACTIONS.get():
            return transaction
        return None

    def _reads(self) -> _Worker:
        """The connection for a read: the writer's inside the caller's transaction.

        The reader would not see the transaction's own uncommitted writes (a
        process manager loading an aggregate it has just changed).
        """
        return self._reader if self._joined() is None else self._writer

    async def _write(
        self, joined: _Transaction | None, function: Callable[..., T], /, *args: Any
    ) -> T:
        """Run a write operation: in its own transaction, or in the open checkpoint one.

        `joined` is `_joined()`, taken by the caller with no await since. Writes
        from several tasks in one transaction are serialized by the writer thread.
        """
        if joined is not None:
            return await self._run(self._writer, function, *args, nested=True)
        if not self._write_lock.locked():
            # The writer thread runs its queue in order, one operation (one whole
            # transaction) at a time, so writes submitted straight away are
            # serialized already, and they pipeline: the thread starts the next
            # one without waiting for the event loop. Nothing awaits between the
            # check and the submission, so a checkpoint transaction cannot start
            # in between; once it holds the lock, writes queue behind it.
            return await self._run(self._writer, function, *args, nested=False)
        async with self._write_lock:
            return await self._run(self._writer, function, *args, nested=False)

    # --- writing -----------------------------------------------------------------

    async def append_events(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | ExpectedVersion = ExpectedVersion.ANY,
    ) -> AppendResult:
        self._check_open()
        validate_stream_id(stream_id)
        expected = validate_expected_version(expected_version)
        encoded = encode_events(events)
        started = time.perf_counter()
        joined = self._joined()
        result, written = await self._write(joined, ops.append, stream_id, encoded, expected)
        if written:
            if joined is not None and not joined.ended:
                joined.appended = True
            else:
                self._signal.notify()
        logger.debug(
            "appended" if written else "append retry recognised, nothing written",
            stream_id=stream_id,
            count=len(encoded),
            version=result.version,
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )
        return result

    # --- reading -----------------------------------------------------------------

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
        sql = ops.select_events(stream=True)
        return self._pages(sql, (stream_id,), from_version, (), batch_size, by_version=True)

    def _read_global(
        self,
        category: str | None,
        from_position: Position | None,
        event_types: Iterable[str] | None,
        batch_size: int,
    ) -> AsyncIterator[RecordedEvent]:
        # Validated here, not in the generator, so bad arguments fail at the call.
        self._check_open()
        start = 0 if from_position is None else validate_int_position(from_position)
        types = validate_event_types(event_types)
        validate_batch_size(batch_size)
        sql = ops.select_events(
            category=category is not None, type_count=None if types is None else len(types)
        )
        prefix = () if category is None else (category,)
        return self._pages(sql, prefix, start, types or (), batch_size, by_version=False)

    async def _pages(
        self,
        sql: str,
        prefix: tuple[object, ...],
        start: int,
        suffix: tuple[object, ...],
        batch_size: int,
        *,
        by_version: bool,
    ) -> AsyncIterator[RecordedEvent]:
        # Keyset pagination: each page starts after the last event of the one
        # before, so a page costs the same at any depth and nothing is held
        # open (no read transaction, no cursor) between pages.
        while True:
            # Chosen per page: the caller's transaction may begin or end in between.
            page = await self._run(
                self._reads(), ops.fetch_events, sql, (*prefix, start, *suffix, batch_size)
            )
            for event in page:
                yield event
            if len(page) < batch_size:
                return
            last = page[-1]
            start = last.version + 1 if by_version else last.global_position

    async def stream_version(self, stream_id: str) -> int:
        validate_stream_id(stream_id)
        return await self._run(self._reads(), ops.stream_version, stream_id)

    async def head_position(self) -> Position | None:
        return await self._run(self._reads(), ops.head_position)

    @property
    def start_position(self) -> Position:
        return 0

    # --- snapshots -----------------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        self._check_open()
        validate_stream_id(snapshot.stream_id)
        version = snapshot.version
        if isinstance(version, bool) or not isinstance(version, int) or version < 0:
            raise InvalidInputError(
                f"invalid snapshot version {version!r}: pass the stream version it was taken at"
            )
        data = dumps(snapshot.data, what="snapshot data")
        await self._write(self._joined(), ops.save_snapshot, snapshot, data)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        validate_stream_id(stream_id)
        return await self._run(self._reads(), ops.load_snapshot, stream_id)

    # --- subscription checkpoints --------------------------------------------------

    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        validate_subscription_id(subscription_id)
        return await self._run(self._reads(), ops.load_checkpoint, subscription_id)

    async def save_checkpoint(self, subscription_id: str, position: Position) -> None:
        self._check_open()
        validate_subscription_id(subscription_id)
        await self._write(
            self._joined(), ops.save_checkpoint, subscription_id, validate_int_position(position)
        )

    async def delete_checkpoint(self, subscription_id: str) -> None:
        self._check_open()
        validate_subscription_id(subscription_id)
        await self._write(self._joined(), ops.delete_checkpoint, subscription_id)

    def checkpoint_transaction(
        self, subscription_id: str
    ) -> AbstractAsyncContextManager[CheckpointTransaction]:
        """A write transaction that ends by storing the subscription's checkpoint.

        `CheckpointTransaction.connection` is the store's ``sqlite3.Connection``
        inside an open ``BEGIN IMMEDIATE`` transaction: what the handler writes
        through it (synchronously; do not commit) commits together with the
        checkpoint, or not at all if the block raises. Appends, snapshots and
        checkpoint calls made through the store by the same task, or by tasks
        it starts inside the block, join the transaction too, and its reads see
        them. Other writers of the file wait until it ends, so keep the block
        short.
        """
        self._check_open()
        validate_subscription_id(subscription_id)
        return self._checkpoint_transaction(subscription_id)

    @asynccontextmanager
    async def _checkpoint_transaction(
        self, subscription_id: str
    ) -> AsyncIterator[CheckpointTransaction]:
        if self._joined() is not None:
            # Waiting for the lock would wait for the open transaction: a deadlock.
            raise InvalidInputError(
                "checkpoint_transaction() is already open in this task or the task that "
                "started it; transactions do not nest: finish the open one first"
            )
        async with self._write_lock:
            committed = False
            opened = _Transaction()
            token = None
            try:
                # Inside the try: cancelled while BEGIN IMMEDIATE waits for another
                # process's lock, the BEGIN still runs on the writer thread later.
                await self._run(self._writer, ops.begin)
                token = _OPEN_TRANSACTIONS.set((*_OPEN_TRANSACTIONS.get(), opened))
                self._transaction = opened
                transaction = CheckpointTransaction(self._writer.connection)
                yield transaction
                # From here on, a write from a task started in the block waits for
                # the lock and runs after the commit, not inside a transaction that
                # is ending.
                self._transaction = None
                if transaction.position is not None:
                    position = validate_int_position(transaction.position)
                    await self._run(
                        self._writer, ops.save_checkpoint, subscription_id, position, nested=True
                    )
                await self._run(self._writer, ops.end, commit=True)
                committed = True
            finally:
                self._transaction = None
                opened.ended = True
                if token is not None:
                    with contextlib.suppress(ValueError):  # the block ended in another context
                        _OPEN_TRANSACTIONS.reset(token)
                if not committed and not self._closed:
                    # Queued now, behind the BEGIN or the work of the block, and
                    # ahead of any later write, so nothing runs inside the
                    # abandoned transaction. Not awaited: a cancelled caller
                    # (a timeout, a shutdown) must not wait up to busy_timeout for
                    # a BEGIN it gave up on; `end` does nothing if BEGIN failed.
                    rollback = self._writer.submit(ops.end, commit=False)
                    rollback.add_done_callback(self._log_failed_rollback)
        if opened.appended:
            self._signal.notify()

    def _log_failed_rollback(self, rollback: Future[None]) -> None:
        error = None if rollback.cancelled() else rollback.exception()
        if error is not None:
            logger.error(
                "sqlite rollback of a checkpoint transaction failed; the next write will "
                "report the open transaction",
                path=self._path,
                error=repr(error),
            )

    # --- lifecycle -----------------------------------------------------------------

    async def close(self) -> None:
        """Close both connections; work already started finishes first."""
        if self._closed:
            return
        self._closed = True
        await self._reader.stop()
        await self._writer.stop()


def _check_path(path: object) -> str:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str) or not path or path == ":memory:" or path.startswith("file:"):
        raise ConfigurationError(
            f"invalid SQLite store path {path!r}: pass the path of a file (it is created if "
            "missing); for a store in memory use connect('memory://')"
        )
    return path


def _check_busy_timeout(busy_timeout: object) -> float:
    if (
        isinstance(busy_timeout, bool)
        or not isinstance(busy_timeout, int | float)
        or not busy_timeout >= 0
    ):
        raise ConfigurationError(
            f"invalid busy_timeout {busy_timeout!r}: pass the seconds to wait for a lock "
            "held by another process, e.g. 5.0"
        )
    return float(busy_timeout)


def _check_synchronous(synchronous: object) -> str:
    mode = synchronous.upper() if isinstance(synchronous, str) else synchronous
    if mode not in _SYNCHRONOUS:
        raise ConfigurationError(
            f"invalid synchronous {synchronous!r}: pass one of {', '.join(_SYNCHRONOUS)}"
        )
    return str(mode)
