"""The SQLite driver: one file in WAL mode, safe for many tasks and processes.

Two connections, each on its own thread so that the event loop never waits
on SQLite: a writer, behind an asyncio lock, and a reader, which in WAL mode
never waits for writers. Global positions are the rowids of the events
table, whose order is the commit order (store/sqlite/002_events.sql), so
positions are plain ints.

Live delivery: `wait_for_events` wakes only on appends made through this
store object, in this process. SQLite has no cross-process notification, so
a subscription sees another process's appends at its next poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from concurrent.futures import Future
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing_kit._logging import get_logger
from eventsourcing_kit.errors import StoreClosedError
from eventsourcing_kit.stores.driver import (
    Appended,
    AppendOutcome,
    AppendRequest,
    AppendSignal,
    Capabilities,
    CheckpointOutcome,
    Driver,
    DriverTransaction,
    GlobalRead,
    LeaseOutcome,
    Position,
    RecordedEvent,
    Snapshot,
    StreamInfo,
    StreamRead,
    StreamsRead,
    nested_transaction_error,
    position_of,
)
from eventsourcing_kit.stores.sqlite import _leases as leases
from eventsourcing_kit.stores.sqlite import _ops as ops
from eventsourcing_kit.stores.sqlite._errors import translate_error
from eventsourcing_kit.stores.sqlite._worker import Worker

__all__ = ["SQLiteDriver"]

logger = get_logger(__name__)

T = TypeVar("T")


class _Transaction(DriverTransaction):
    """One open checkpoint transaction, as the tasks writing in it share it."""

    def __init__(
        self,
        connection: sqlite3.Connection,
        save_if: Callable[[Position, Position | None], Awaitable[CheckpointOutcome]],
    ) -> None:
        self._connection = connection
        self._save_if = save_if
        self.appended = False  # something was appended: notify subscribers on commit
        self.ended = False  # committed or rolled back: notify at once
        self.position: Position | None = None

    @property
    def connection(self) -> sqlite3.Connection:
        """The writer's connection, inside ``BEGIN IMMEDIATE``: write, do not commit."""
        return self._connection

    async def save_checkpoint(self, position: Position) -> None:
        self.position = position

    async def save_checkpoint_if(
        self, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        # Compared and written now, inside the transaction: BEGIN IMMEDIATE
        # holds the file's write lock until the commit, so the comparison
        # still holds then, whatever other processes try.
        return await self._save_if(position, expected)


# The checkpoint transactions open in this context, of any store. A context
# var, not the task: tasks started inside the block (asyncio.wait_for, gather
# over coroutines) copy the context and so join the transaction, instead of
# waiting for the write lock their parent holds until it ends.
_OPEN_TRANSACTIONS: ContextVar[tuple[_Transaction, ...]] = ContextVar(
    "eventsourcing_kit_sqlite_transactions", default=()
)


class SQLiteDriver(Driver):
    """The storage of one SQLite store object."""

    atomic_checkpoints = True
    supports_leases = True
    capabilities = Capabilities(partition_filter=True)

    def __init__(self, path: str, *, writer: Worker, reader: Worker, busy_timeout: float) -> None:
        self.path = path
        self._writer = writer
        self._reader = reader
        self._busy_timeout = busy_timeout
        self._write_lock = asyncio.Lock()
        self._signal = AppendSignal()
        # The open checkpoint transaction (see _OPEN_TRANSACTIONS); None once its
        # block has ended, so that a task which outlives it writes on its own.
        self._transaction: _Transaction | None = None
        self.closed = False

    # --- plumbing ----------------------------------------------------------------

    async def _run(self, worker: Worker, function: Callable[..., T], /, *args: Any, **kw: Any) -> T:
        if self.closed:
            raise StoreClosedError()
        try:
            return await worker.run(function, *args, **kw)
        except sqlite3.Error as error:
            raise translate_error(error, path=self.path, busy_timeout=self._busy_timeout) from error

    def _joined(self) -> _Transaction | None:
        """The open checkpoint transaction of this store, if the caller runs inside it."""
        transaction = self._transaction
        if transaction is not None and transaction in _OPEN_TRANSACTIONS.get():
            return transaction
        return None

    def _reads(self) -> Worker:
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

    # --- positions -----------------------------------------------------------------

    @property
    def start_position(self) -> Position:
        return Position(0)

    def check_position(self, position: object) -> Position:
        return position_of(position, parts=1, backend="SQLite")

    # --- writing -----------------------------------------------------------------

    async def append(self, request: AppendRequest) -> AppendOutcome:
        joined = self._joined()
        outcome = await self._write(joined, ops.append, request.writes)
        if isinstance(outcome, Appended):
            if joined is not None and not joined.ended:
                joined.appended = True
            else:
                self._signal.notify()
        return outcome

    async def events_by_id(
        self, event_ids: Sequence[UUID], *, session: Any = None
    ) -> Mapping[UUID, RecordedEvent]:
        return await self._run(self._reads(), ops.events_by_id, event_ids)

    # --- reading -----------------------------------------------------------------

    def read_stream(self, request: StreamRead) -> AsyncIterator[RecordedEvent]:
        sql = ops.select_events(stream=True)
        return self._pages(
            sql, (request.stream_id,), request.from_version, (), request.batch_size, by_version=True
        )

    def read_global(self, request: GlobalRead) -> AsyncIterator[RecordedEvent]:
        types = request.event_types
        partition = request.partition
        sql = ops.select_events(
            category=request.category is not None,
            type_count=None if types is None else len(types),
            partition=partition is not None,
        )
        prefix = () if request.category is None else (request.category,)
        suffix = (
            *(types or ()),
            *(() if partition is None else (partition.count, partition.index)),
        )
        after = int(request.after)
        return self._pages(sql, prefix, after, suffix, request.batch_size, by_version=False)

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
        return await self._run(self._reads(), ops.stream_version, stream_id)

    async def head_position(self) -> Position | None:
        return await self._run(self._reads(), ops.head_position)

    def list_streams(self, request: StreamsRead) -> AsyncIterator[StreamInfo]:
        return self._list_streams(request.category, request.batch_size)

    async def _list_streams(
        self, category: str | None, batch_size: int
    ) -> AsyncIterator[StreamInfo]:
        after = ""  # before every stream id: ids are never empty
        while True:
            page = await self._run(self._reads(), ops.list_streams, after, category, batch_size)
            for stream in page:
                yield stream
            if len(page) < batch_size:
                return
            after = page[-1].stream_id

    # --- snapshots and checkpoints ---------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot, data: bytes) -> None:
        await self._write(self._joined(), ops.save_snapshot, snapshot, data)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        return await self._run(self._reads(), ops.load_snapshot, stream_id)

    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        return await self._run(self._reads(), ops.load_checkpoint, subscription_id)

    async def save_checkpoint(self, subscription_id: str, position: Position) -> None:
        await self._write(self._joined(), ops.save_checkpoint, subscription_id, position)

    async def save_checkpoint_if(
        self, subscription_id: str, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        return await self._write(
            self._joined(), ops.save_checkpoint_if, subscription_id, position, expected
        )

    async def delete_checkpoint(self, subscription_id: str) -> None:
        await self._write(self._joined(), ops.delete_checkpoint, subscription_id)

    async def list_checkpoints(self) -> Mapping[str, Position]:
        return await self._run(self._reads(), ops.list_checkpoints)

    def transaction(self, subscription_id: str) -> Any:
        """A ``BEGIN IMMEDIATE`` transaction on the writer that ends by storing the checkpoint.

        Its `connection` is the store's ``sqlite3.Connection``: what the
        handler writes through it (synchronously; do not commit) commits with
        the checkpoint, or not at all if the block raises. Store calls made by
        the same task, or by tasks it starts inside the block, join it too,
        and its reads see them. Other writers of the file wait until it ends.
        """
        if self._joined() is not None:
            # Waiting for the lock would wait for the open transaction: a deadlock.
            raise nested_transaction_error()
        return self._transaction_block(subscription_id)

    @asynccontextmanager
    async def _transaction_block(self, subscription_id: str) -> AsyncIterator[DriverTransaction]:
        async with self._write_lock:
            committed = False
            opened = _Transaction(
                self._writer.connection,
                functools.partial(self._save_in_transaction, subscription_id),
            )
            token = None
            try:
                # Inside the try: cancelled while BEGIN IMMEDIATE waits for another
                # process's lock, the BEGIN still runs on the writer thread later.
                await self._run(self._writer, ops.begin)
                token = _OPEN_TRANSACTIONS.set((*_OPEN_TRANSACTIONS.get(), opened))
                self._transaction = opened
                yield opened
                # From here on, a write from a task started in the block waits for
                # the lock and runs after the commit, not inside a transaction that
                # is ending.
                self._transaction = None
                if opened.position is not None:
                    await self._run(
                        self._writer,
                        ops.save_checkpoint,
                        subscription_id,
                        opened.position,
                        nested=True,
                    )
                await self._run(self._writer, ops.end, commit=True)
                committed = True
            finally:
                self._transaction = None
                opened.ended = True
                if token is not None:
                    with contextlib.suppress(ValueError):  # the block ended in another context
                        _OPEN_TRANSACTIONS.reset(token)
                if not committed and not self.closed:
                    # Queued now, behind the BEGIN or the work of the block, and
                    # ahead of any later write, so nothing runs inside the
                    # abandoned transaction. Not awaited: a cancelled caller
                    # (a timeout, a shutdown) must not wait up to busy_timeout for
                    # a BEGIN it gave up on; `end` does nothing if BEGIN failed.
                    rollback = self._writer.submit(ops.end, commit=False)
                    rollback.add_done_callback(self._log_failed_rollback)
        if opened.appended:
            self._signal.notify()

    async def _save_in_transaction(
        self, subscription_id: str, position: Position, expected: Position | None
    ) -> CheckpointOutcome:
        return await self._run(
            self._writer, ops.save_checkpoint_if, subscription_id, position, expected, nested=True
        )

    def _log_failed_rollback(self, rollback: Future[None]) -> None:
        error = None if rollback.cancelled() else rollback.exception()
        if error is not None:
            logger.error(
                "sqlite rollback of a checkpoint transaction failed; the next write will "
                "report the open transaction",
                path=self.path,
                error=repr(error),
            )

    # --- leases -----------------------------------------------------------------------

    async def acquire_lease(self, name: str, owner: str, ttl: float) -> LeaseOutcome:
        # Never inside the caller's checkpoint transaction: a lease is not
        # the batch's to roll back.
        return await self._write(None, leases.acquire_lease, name, owner, ttl)

    async def release_lease(self, name: str, owner: str) -> None:
        await self._write(None, leases.release_lease, name, owner)

    async def lease_holders(self, prefix: str) -> Mapping[str, str]:
        return await self._run(self._reader, leases.lease_holders, prefix)

    # --- live delivery and lifecycle ---------------------------------------------------

    async def wait_for_events(self, timeout: float) -> bool:
        return await self._signal.wait(timeout)

    async def close(self) -> None:
        """Close both connections; work already started finishes first."""
        if self.closed:
            return
        self.closed = True
        await self._reader.stop()
        await self._writer.stop()
