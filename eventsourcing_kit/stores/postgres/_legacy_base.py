"""The event store interface every backend implements, and what they share."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from eventsourcing_kit.stores._records import (
    AppendResult,
    ExpectedVersion,
    NewEvent,
    Position,
    RecordedEvent,
    Snapshot,
)
from eventsourcing_kit.stores._store import CheckpointTransaction
from eventsourcing_kit.stores._store import EventStore as _CoreEventStore
from eventsourcing_kit.stores.postgres._legacy import validate_category

if TYPE_CHECKING:
    from eventsourcing_kit.subscriptions import Subscription

__all__ = ["DEFAULT_BATCH_SIZE", "AppendSignal", "CheckpointTransaction", "EventStore"]

# Transitional: the PostgreSQL store predates the driver interface.

DEFAULT_BATCH_SIZE = 500


class AppendSignal:
    """Wakes in-process waiters when an append commits (no polling needed)."""

    def __init__(self) -> None:
        self._event: asyncio.Event | None = None

    def notify(self) -> None:
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, timeout: float) -> bool:
        """Wait until the next notify() or `timeout` seconds; True if notified."""
        if self._event is None:
            self._event = asyncio.Event()
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return False
        return True


class EventStore(_CoreEventStore, abc.ABC):
    """An append-only log of streams with per-stream versions and one global order.

    Get one with `connect(url)`. Every method validates its input before it
    touches storage, and raises errors from `eventsourcing_kit.errors` only.
    Backends subclass this and pass `eventsourcing_kit.testing.StoreContract`.
    """

    def __init__(self) -> None:  # noqa: the core's driver is not used here
        self._signal = AppendSignal()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # --- writing -------------------------------------------------------------

    @abc.abstractmethod
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

    # --- reading -------------------------------------------------------------

    @abc.abstractmethod
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

    def read_all(
        self,
        *,
        from_position: Position | None = None,
        event_types: Iterable[str] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> AsyncIterator[RecordedEvent]:
        """Every event in the global order, after `from_position` (exclusive).

        Pass an event's `position` to resume after it: no event that commits
        later is ever skipped. `event_types` keeps only events of those types.
        """
        return self._read_global(None, from_position, event_types, batch_size)

    def read_category(
        self,
        category: str,
        *,
        from_position: Position | None = None,
        event_types: Iterable[str] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> AsyncIterator[RecordedEvent]:
        """Like `read_all`, restricted to the streams whose category is `category`."""
        validate_category(category)
        return self._read_global(category, from_position, event_types, batch_size)

    @abc.abstractmethod
    def _read_global(
        self,
        category: str | None,
        from_position: Position | None,
        event_types: Iterable[str] | None,
        batch_size: int,
    ) -> AsyncIterator[RecordedEvent]:
        """`read_all` (`category` None) or `read_category`, `category` checked.

        Validates the other arguments (and that the store is open) before it
        returns, so bad input fails at the call, not at the first event.
        """

    @abc.abstractmethod
    async def stream_version(self, stream_id: str) -> int:
        """The stream's current version: the number of its events, 0 if none."""

    @abc.abstractmethod
    async def head_position(self) -> Position | None:
        """The position of the last event a reader can see now, None when empty."""

    @property
    @abc.abstractmethod
    def start_position(self) -> Position:
        """A position before every event: reading after it reads from the first.

        A checkpoint stored as this position means "start from the beginning"
        and, unlike no checkpoint at all, survives a restart (`reset()`).
        """

    # --- snapshots -----------------------------------------------------------

    @abc.abstractmethod
    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep `snapshot` as its stream's latest one (an older one is replaced)."""

    @abc.abstractmethod
    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        """The stream's latest snapshot, or None."""

    # --- subscription checkpoints --------------------------------------------

    @abc.abstractmethod
    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        """The stored position of a subscription, or None if it has none."""

    @abc.abstractmethod
    async def save_checkpoint(self, subscription_id: str, position: Position) -> None:
        """Store the position a subscription has processed up to (inclusive)."""

    @abc.abstractmethod
    async def delete_checkpoint(self, subscription_id: str) -> None:
        """Forget a subscription's position: it starts over on its next run."""

    def checkpoint_transaction(
        self, subscription_id: str
    ) -> AbstractAsyncContextManager[CheckpointTransaction]:
        """A unit of work whose end stores the subscription's checkpoint.

        Backends with transactions override this so that writes made through
        `CheckpointTransaction.connection` commit with the checkpoint. This
        default stores the checkpoint after the block succeeds.
        """
        return self._checkpoint_after(subscription_id)

    @asynccontextmanager
    async def _checkpoint_after(self, subscription_id: str) -> AsyncIterator[CheckpointTransaction]:
        transaction = CheckpointTransaction()
        yield transaction
        if transaction.position is not None:
            await self.save_checkpoint(subscription_id, transaction.position)

    # --- live delivery -------------------------------------------------------

    async def wait_for_events(self, *, timeout: float) -> bool:
        """Wait until an append may have committed, or `timeout` seconds pass.

        True when woken by an append. Readers re-read after it either way;
        this only spares them polling.
        """
        return await self._signal.wait(timeout)

    def subscribe(
        self,
        subscription_id: str,
        handler: Callable[..., Awaitable[None]],
        **options: Any,
    ) -> Subscription:
        """A subscription that feeds `handler` from the global order.

        It resumes from its stored checkpoint; see `Subscription` for options.
        `handler` takes a `RecordedEvent` (a list of them with ``batched=True``),
        plus a `HandlerContext` with ``transactional=True``.
        """
        from eventsourcing_kit.subscriptions import Subscription

        return Subscription(self, subscription_id, handler, **options)

    # --- lifecycle -----------------------------------------------------------

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and files; the store cannot be used afterwards."""
