"""`EventStore`: the one contract core in front of every backend's driver.

Everything that must behave the same on every backend lives here: argument
checks (before any I/O), payload encoding, the expected-version and retry
rules (`_rules`), snapshot and checkpoint checks, one log line per append.
A backend contributes a `Driver` that stores and fetches checked input.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self

from eventsourcing_kit._logging import Logger, get_logger
from eventsourcing_kit.errors import (
    StoreClosedError,
)
from eventsourcing_kit.stores._checkpoints import (
    UNCONDITIONAL,
    CheckpointTransaction,
    Unconditional,
    checkpoint_transaction,
    save_checkpoint,
)
from eventsourcing_kit.stores._driver import (
    AppendRequest,
    Capabilities,
    Driver,
    GlobalRead,
    Rejected,
    StreamRead,
    StreamsRead,
    StreamWrite,
)
from eventsourcing_kit.stores._leases import LeaseOutcome
from eventsourcing_kit.stores._partitions import Partition, check_partition, read_partition
from eventsourcing_kit.stores._records import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    Position,
    RecordedEvent,
    Snapshot,
    StreamAppend,
    StreamInfo,
)
from eventsourcing_kit.stores._rejections import resolve_rejection
from eventsourcing_kit.stores._validation import (
    check_lease,
    encode_snapshot,
    prepare_appends,
    prepare_write,
    validate_batch_size,
    validate_category,
    validate_event_types,
    validate_from_version,
    validate_stream_id,
    validate_subscription_id,
)

__all__ = ["DEFAULT_BATCH_SIZE", "CheckpointTransaction", "EventStore"]

logger = get_logger(__name__)

DEFAULT_BATCH_SIZE = 500


class EventStore:
    """An append-only log of streams with per-stream versions and one global order.

    Get one with `connect(url)`. Every method validates its input before it
    touches storage, and raises errors from `eventsourcing_kit.errors` only.
    A backend is a `Driver` (see `eventsourcing_kit.stores.driver`) behind
    this class; it proves itself with `eventsourcing_kit.testing.StoreContract`.
    """

    def __init__(self, driver: Driver) -> None:
        self._driver = driver
        self._closed = False
        self._logger: Logger | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _log(self) -> Logger:
        # Bound on the store's first append: under structlog, the bound logger
        # is built once, at its first line, instead of at every append (what
        # the module's lazy logger costs), with debug filtered out or not.
        log = self._logger
        if log is None:
            log = self._logger = logger.bind()
        return log

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
    ) -> AppendResult:
        """Append `events` to the stream atomically: all of them, or none.

        `expected_version` is the stream's version the writer decided on: an
        exact int (0: the stream must not exist), or an `ExpectedVersion`.
        On a mismatch nothing is written and `ConcurrencyError` is raised.
        Appending again events whose ids are stored, at the same place and
        with the same content, returns the original result (a safe retry).
        """
        self._check_open()
        write = prepare_write(stream_id, events, expected_version)
        return (await self._append((write,), None))[0]

    async def append_many(self, appends: Iterable[StreamAppend]) -> list[AppendResult]:
        """Append to several streams atomically: every stream's events, or none.

        Each `StreamAppend` names a distinct stream, its events and the
        version expected of it, checked as in `append_events`. When one does
        not hold, nothing is written and `ConcurrencyError` names that
        stream. Sending the same appends again after a lost reply returns the
        original results. Returns one result per append, in order.
        """
        self._check_open()
        writes = prepare_appends(appends)
        return await self._append(writes, None)

    async def _append(self, writes: tuple[StreamWrite, ...], session: Any) -> list[AppendResult]:
        # Asked first: with debug off (the usual case), timing the append and
        # building the line's fields would cost more than the question.
        log = self._log()
        debug = log.is_enabled_for(logging.DEBUG)
        started = time.perf_counter() if debug else 0.0
        outcome = await self._driver.append(AppendRequest(writes, session))
        if isinstance(outcome, Rejected):
            results = await resolve_rejection(self._driver, writes, outcome, session)
            written = False
        else:
            results = list(outcome.results)
            written = True
        if debug:
            last = results[-1]
            log.debug(
                "appended" if written else "append retry recognised, nothing written",
                stream_id=last.stream_id,
                streams=len(writes),
                count=sum(len(write.events) for write in writes),
                version=last.version,
                duration_ms=round((time.perf_counter() - started) * 1000, 3),
            )
        return results

    # --- reading -------------------------------------------------------------

    def read_stream(
        self,
        stream_id: str,
        *,
        from_version: int = 1,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> AsyncIterator[RecordedEvent]:
        """The stream's events from `from_version` on (inclusive), oldest first.

        A stream that does not exist yields nothing. Results are fetched in
        pages of `batch_size`, never loaded whole.
        """
        self._check_open()
        request = StreamRead(
            validate_stream_id(stream_id),
            validate_from_version(from_version),
            validate_batch_size(batch_size),
        )
        return self._driver.read_stream(request)

    def read_all(
        self,
        *,
        from_position: Position | None = None,
        event_types: Iterable[str] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        partition: Partition | None = None,
    ) -> AsyncIterator[RecordedEvent]:
        """Every event in the global order, after `from_position` (exclusive).

        Pass an event's `position` to resume after it: no event that commits
        later is ever skipped. `event_types` keeps only events of those types;
        `partition` only the events of the streams in that `Partition`.
        """
        return self._read_global(None, from_position, event_types, batch_size, partition)

    def read_category(
        self,
        category: str,
        *,
        from_position: Position | None = None,
        event_types: Iterable[str] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        partition: Partition | None = None,
    ) -> AsyncIterator[RecordedEvent]:
        """Like `read_all`, restricted to the streams whose category is `category`."""
        return self._read_global(
            validate_category(category), from_position, event_types, batch_size, partition
        )

    def _read_global(
        self,
        category: str | None,
        from_position: Position | None,
        event_types: Iterable[str] | None,
        batch_size: int,
        partition: Partition | None = None,
    ) -> AsyncIterator[RecordedEvent]:
        # Checked here, not in the driver's generator: bad input fails at the call.
        self._check_open()
        driver = self._driver
        after = (
            driver.start_position if from_position is None else self._check_position(from_position)
        )
        request = GlobalRead(
            after, category, validate_event_types(event_types), validate_batch_size(batch_size)
        )
        if partition is None:
            return driver.read_global(request)
        return read_partition(driver, request, check_partition(partition))

    def _check_position(self, position: object) -> Position:
        return self._driver.check_position(position)

    def list_streams(
        self, *, category: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> AsyncIterator[StreamInfo]:
        """Each stream that holds events, once, with its version (its event count).

        `category` lists only the streams of that category. Fetched in pages
        of `batch_size`, never loaded whole. The order is the backend's (by
        stream id on the built-in ones); streams appended to while the
        listing runs may or may not be in it.
        """
        self._check_open()
        request = StreamsRead(
            None if category is None else validate_category(category),
            validate_batch_size(batch_size),
        )
        return self._driver.list_streams(request)

    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version: the number of its events, 0 if none."""
        self._check_open()
        return await self._driver.stream_version(validate_stream_id(stream_id))

    async def head_position(self) -> Position | None:
        """The position of the last event a reader can see now, None when empty."""
        self._check_open()
        return await self._driver.head_position()

    @property
    def capabilities(self) -> Capabilities:
        """The backend's declared limits (for example the most events per append)."""
        return self._driver.capabilities

    @property
    def start_position(self) -> Position:
        """A position before every event: reading after it reads from the first.

        A checkpoint stored as this position means "start from the beginning"
        and, unlike no checkpoint at all, survives a restart (`reset()`).
        """
        return self._driver.start_position

    # --- snapshots -----------------------------------------------------------

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep `snapshot` as its stream's latest one (an older one is replaced)."""
        self._check_open()
        data = encode_snapshot(snapshot)
        await self._driver.save_snapshot(snapshot, data)

    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        """The stream's latest snapshot, or None."""
        self._check_open()
        return await self._driver.load_snapshot(validate_stream_id(stream_id))

    # --- subscription checkpoints --------------------------------------------

    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        """The stored position of a subscription, or None if it has none."""
        self._check_open()
        return await self._driver.load_checkpoint(validate_subscription_id(subscription_id))

    async def save_checkpoint(
        self,
        subscription_id: str,
        position: Position,
        *,
        expected: Position | Unconditional | None = UNCONDITIONAL,
    ) -> None:
        """Store the position a subscription has processed up to (inclusive).

        With `expected` (a position, or None for "no checkpoint yet"), the
        write is conditional: when the stored checkpoint is another one,
        nothing is stored and `CheckpointFencedError` says where it is. A
        runner passes the position it read, so that it never moves a
        checkpoint that another runner (or a reset) moved meanwhile.
        """
        self._check_open()
        validate_subscription_id(subscription_id)
        await save_checkpoint(self._driver, subscription_id, position, expected=expected)

    async def delete_checkpoint(self, subscription_id: str) -> None:
        """Forget a subscription's position: it starts over on its next run."""
        self._check_open()
        await self._driver.delete_checkpoint(validate_subscription_id(subscription_id))

    async def list_checkpoints(self) -> dict[str, Position]:
        """Every stored subscription checkpoint, by subscription id, sorted by id.

        What operators' tools list as the store's subscriptions: a
        subscription appears once it has stored a checkpoint.
        """
        self._check_open()
        stored = await self._driver.list_checkpoints()
        return {name: stored[name] for name in sorted(stored)}

    def checkpoint_transaction(
        self, subscription_id: str
    ) -> AbstractAsyncContextManager[CheckpointTransaction]:
        """A unit of work whose end stores the subscription's checkpoint.

        Writes made through `CheckpointTransaction.connection`, and appends
        and snapshots made through this store inside the block, commit
        together with the checkpoint, or not at all when the block fails.
        """
        self._check_open()
        validate_subscription_id(subscription_id)
        return checkpoint_transaction(self._driver, subscription_id)

    # --- leases --------------------------------------------------------------

    @property
    def supports_leases(self) -> bool:
        """Whether this backend keeps leases (subscriptions then run one active runner)."""
        return self._driver.supports_leases

    async def acquire_lease(self, name: str, *, owner: str, ttl: float) -> LeaseOutcome:
        """Take the lease `name` for `owner` for `ttl` seconds, or renew it; see `_leases`."""
        self._check_open()
        return await self._driver.acquire_lease(*check_lease(name, owner, ttl))

    async def release_lease(self, name: str, *, owner: str) -> None:
        """Give the lease `name` up if `owner` holds it."""
        self._check_open()
        checked, owner, _ = check_lease(name, owner)
        await self._driver.release_lease(checked, owner)

    async def lease_holders(self, prefix: str) -> dict[str, str]:
        """The leases held now whose names start with `prefix`: name to owner."""
        self._check_open()
        checked, _, _ = check_lease(prefix, "-")
        return dict(await self._driver.lease_holders(checked))

    # --- live delivery and lifecycle -----------------------------------------

    async def wait_for_events(self, *, timeout: float) -> bool:
        """Wait until an append may have committed, or `timeout` seconds pass.

        True when woken by an append. Readers re-read after it either way;
        this only spares them polling.
        """
        self._check_open()
        return await self._driver.wait_for_events(timeout)

    async def close(self) -> None:
        """Release connections and files; the store cannot be used afterwards."""
        if self._closed:
            return
        self._closed = True
        await self._driver.close()
