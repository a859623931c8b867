"""What a backend implements: the driver interface, and the values that cross it.

The core (`EventStore`) checks and encodes everything before a driver sees
it, so a driver receives input it can trust: stream ids, versions and
positions in range, events with JSON payloads already encoded, the expected
version in one typed form. A driver stores and fetches; it reports what
happened as a typed outcome and leaves the meaning (retries, conflicts,
errors for the user) to the core. See docs/writing-a-backend.md.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing_kit.errors import InvalidInputError
from eventsourcing_kit.stores._leases import LeaseOutcome
from eventsourcing_kit.stores._records import (
    Position,
    RecordedEvent,
    Snapshot,
    StreamInfo,
)
from eventsourcing_kit.stores._requests import (
    Appended,
    AppendOutcome,
    AppendRequest,
    Capabilities,
    CheckpointFenced,
    CheckpointOutcome,
    CheckpointSaved,
    GlobalRead,
    PreparedEvent,
    Rejected,
    StreamRead,
    StreamsRead,
    StreamWrite,
)

__all__ = [
    "AppendOutcome",
    "AppendRequest",
    "Appended",
    "Capabilities",
    "CheckpointFenced",
    "CheckpointOutcome",
    "CheckpointSaved",
    "Driver",
    "DriverTransaction",
    "GlobalRead",
    "PreparedEvent",
    "Rejected",
    "StreamRead",
    "StreamWrite",
    "StreamsRead",
    "nested_transaction_error",
]


class DriverTransaction(abc.ABC):
    """An open unit of work that ends by storing a subscription's checkpoint."""

    @property
    def connection(self) -> Any:
        """The backend's connection inside the transaction, for the caller's writes."""
        return None

    @abc.abstractmethod
    async def save_checkpoint(self, position: Position) -> None:
        """Store the checkpoint as part of this transaction."""

    async def save_checkpoint_if(
        self, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        """Store the checkpoint as part of this transaction if the stored one is `expected`.

        The comparison must hold until the transaction commits (take the
        row's lock, or compare in the commit itself). On `CheckpointFenced`
        the core raises out of the block, and the transaction rolls back.
        A driver that overrides `Driver.transaction` overrides this too;
        there is no safe default for a transaction the core cannot see into.
        """
        raise NotImplementedError(
            f"{type(self).__name__} does not implement save_checkpoint_if(); a driver with "
            "its own transaction() must (see docs/writing-a-backend.md)"
        )


def nested_transaction_error() -> InvalidInputError:
    """The error for a checkpoint transaction opened inside one already open.

    A driver whose transaction holds a lock raises it rather than wait for
    the lock its own caller holds (a deadlock).
    """
    return InvalidInputError(
        "checkpoint_transaction() is already open in this task or the task that "
        "started it; transactions do not nest: finish the open one first"
    )


class _CheckpointAfter(DriverTransaction):
    """The default transaction handle: it only remembers the position.

    A conditional save is made at once, through the driver: the block has
    already run (nothing of it can be undone here), and the core saves the
    checkpoint as the block's last step.
    """

    def __init__(self, driver: Driver, subscription_id: str) -> None:
        self._driver = driver
        self._subscription_id = subscription_id
        self.position: Position | None = None

    async def save_checkpoint(self, position: Position) -> None:
        self.position = position

    async def save_checkpoint_if(
        self, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        return await self._driver.save_checkpoint_if(
            self._subscription_id, position, expected=expected
        )


class Driver(abc.ABC):
    """A backend's storage operations, behind the core `EventStore`.

    Every argument is checked by the core first. Methods raise errors of
    `eventsourcing_kit.errors` only (translate the backend's own errors:
    `StoreUnavailableError` for a lost server, `TransientStoreError` for a
    failure worth retrying, `StoreError` otherwise).
    """

    atomic_checkpoints: ClassVar[bool] = False
    """True when `save_checkpoint_if` compares and writes in one atomic step.

    Leave it False while the driver keeps the default `save_checkpoint_if`.
    """
    capabilities: Capabilities = Capabilities()
    """The backend's limits; the default declares none."""

    # --- positions -----------------------------------------------------------

    @property
    @abc.abstractmethod
    def start_position(self) -> Position:
        """A position before every event."""

    @abc.abstractmethod
    def check_position(self, position: object) -> Position:
        """`position` if it is one of this backend's positions, in its normal form.

        Raise `InvalidInputError` otherwise. Called on every position a user
        passes in, before anything is sent.
        """

    # --- writing -------------------------------------------------------------

    @abc.abstractmethod
    async def append(self, request: AppendRequest) -> AppendOutcome:
        """Write all of `request.writes` atomically, or nothing.

        For each write, the stream's version must satisfy `expected`
        (`eventsourcing_kit.stores.driver.expected_version_holds`), checked
        atomically with the write; its events get the versions after it and
        positions in the global order. An event id that is stored already
        rejects the append (never a second copy of an event).
        """

    @abc.abstractmethod
    async def events_by_id(
        self, event_ids: Sequence[UUID], *, session: Any = None
    ) -> Mapping[UUID, RecordedEvent]:
        """The stored events among `event_ids` (missing ids are left out)."""

    # --- reading -------------------------------------------------------------

    @abc.abstractmethod
    def read_stream(self, request: StreamRead) -> AsyncIterator[RecordedEvent]:
        """The stream's events from `from_version` on, oldest first, in pages."""

    @abc.abstractmethod
    def read_global(self, request: GlobalRead) -> AsyncIterator[RecordedEvent]:
        """Events in the global order after `after`: never skipping one that
        commits later, and never yielding one before those that precede it."""

    @abc.abstractmethod
    async def stream_version(self, stream_id: str) -> int:
        """The stream's version: its number of events, 0 when it has none."""

    @abc.abstractmethod
    async def head_position(self) -> Position | None:
        """The position of the last event a reader can see now, None when empty."""

    @abc.abstractmethod
    def list_streams(self, request: StreamsRead) -> AsyncIterator[StreamInfo]:
        """Each stream with at least one event, once, with its version, in pages.

        Order them by stream id where the storage keeps them so (an index);
        the core promises no order. A stream an append claimed without
        writing an event is left out.
        """

    # --- snapshots and checkpoints -------------------------------------------

    @abc.abstractmethod
    async def save_snapshot(self, snapshot: Snapshot, data: bytes) -> None:
        """Keep `snapshot` (its data encoded as `data`) unless a later one is kept."""

    @abc.abstractmethod
    async def load_snapshot(self, stream_id: str) -> Snapshot | None:
        """The stream's snapshot, with `recorded_at` set, or None."""

    @abc.abstractmethod
    async def load_checkpoint(self, subscription_id: str) -> Position | None:
        """The subscription's stored position, or None."""

    @abc.abstractmethod
    async def save_checkpoint(self, subscription_id: str, position: Position) -> None:
        """Store the subscription's position."""

    async def save_checkpoint_if(
        self, subscription_id: str, position: Position, *, expected: Position | None
    ) -> CheckpointOutcome:
        """Store `position` only if the stored checkpoint is `expected` (None: none stored).

        Subscriptions fence their runners with it: a runner stores the
        position it handled up to only where the checkpoint still is where
        it read it, so a checkpoint never moves backwards under a runner
        that fell behind (a second replica, a lost reply). Override it with
        one conditional write (a compare-and-set, a conditional put) and set
        `atomic_checkpoints`. This default reads, compares and writes: it
        fences a runner that is behind, but two writers racing between its
        read and its write can both succeed.
        """
        actual = await self.load_checkpoint(subscription_id)
        if actual != expected:
            return CheckpointFenced(actual)
        await self.save_checkpoint(subscription_id, position)
        return CheckpointSaved()

    @abc.abstractmethod
    async def delete_checkpoint(self, subscription_id: str) -> None:
        """Forget the subscription's position (nothing happens when it has none)."""

    @abc.abstractmethod
    async def list_checkpoints(self) -> Mapping[str, Position]:
        """Every stored checkpoint, by subscription id."""

    def transaction(self, subscription_id: str) -> AbstractAsyncContextManager[DriverTransaction]:
        """A unit of work that commits the caller's writes with the checkpoint.

        A backend with transactions overrides this: the handle's
        `connection` is what the caller writes its read model through, and
        those writes commit with the checkpoint when the block ends, or are
        undone when it fails. This default, for a backend without
        transactions, stores the checkpoint after the block succeeds
        (at-least-once: a crash between the block and the checkpoint repeats
        the block); its `connection` is None.
        """
        return self._checkpoint_after(subscription_id)

    @asynccontextmanager
    async def _checkpoint_after(self, subscription_id: str) -> AsyncIterator[DriverTransaction]:
        handle = _CheckpointAfter(self, subscription_id)
        yield handle
        if handle.position is not None:
            await self.save_checkpoint(subscription_id, handle.position)

    # --- leases ------------------------------------------------------------------

    supports_leases: ClassVar[bool] = False
    """True when the driver implements `acquire_lease` and `release_lease`."""

    async def acquire_lease(self, name: str, owner: str, ttl: float) -> LeaseOutcome:
        """Take the lease `name` for `owner` for `ttl` seconds, or renew it.

        In one atomic step: granted when nobody holds it, when `owner` does,
        or when its holder's expiry has passed; refused (naming the holder)
        otherwise. Expiry is by one clock all runners share (the database
        server's, where there is one). Set `supports_leases` when you
        implement it; without it, subscriptions run without leases.
        """
        raise NotImplementedError(f"{type(self).__name__} has no leases")

    async def release_lease(self, name: str, owner: str) -> None:
        """Give the lease up if `owner` holds it (a standby may take it at once)."""
        raise NotImplementedError(f"{type(self).__name__} has no leases")

    async def lease_holders(self, prefix: str) -> Mapping[str, str]:
        """The leases not expired whose names start with `prefix`: name to owner."""
        raise NotImplementedError(f"{type(self).__name__} has no leases")

    # --- live delivery and lifecycle -----------------------------------------

    @abc.abstractmethod
    async def wait_for_events(self, timeout: float) -> bool:
        """Wait until an append may have committed (True), or `timeout` seconds."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and files; called once, by the core."""
