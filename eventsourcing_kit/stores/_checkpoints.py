"""Checkpoint writes: unconditional, conditional (fenced), and inside a transaction.

A subscription runner passes the position it read the checkpoint at as
`expected`; the driver stores the new one only where the stored one is still
that (`Driver.save_checkpoint_if`). A runner that fell behind (a second
replica, a standby that took over, a reply it never got) is so fenced: it
stores nothing, and in a checkpoint transaction its read-model writes roll
back with the checkpoint.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from eventsourcing_kit.errors import CheckpointFencedError
from eventsourcing_kit.stores._driver import CheckpointFenced, Driver
from eventsourcing_kit.stores._records import Position

__all__ = [
    "UNCONDITIONAL",
    "CheckpointTransaction",
    "Unconditional",
    "checkpoint_transaction",
    "save_checkpoint",
]


class Unconditional(enum.Enum):
    """The default of `expected`: store the checkpoint whatever is stored."""

    UNCONDITIONAL = "unconditional"


UNCONDITIONAL: Final = Unconditional.UNCONDITIONAL


class CheckpointTransaction:
    """A unit of work that ends with a subscription's checkpoint being stored.

    `connection` is the backend's open connection inside the transaction
    (an ``asyncpg.Connection`` on PostgreSQL, a ``sqlite3.Connection`` on
    SQLite, a ``ReadModelWrites`` collector on DynamoDB, None in memory): a
    handler that writes its read model through it
    commits together with the checkpoint, exactly once. Appends and
    snapshots made through the store inside the block join it as well.
    """

    def __init__(self, connection: Any = None) -> None:
        self.connection = connection
        self.position: Position | None = None
        self.expected: Position | Unconditional | None = UNCONDITIONAL

    def save(
        self, position: Position, *, expected: Position | Unconditional | None = UNCONDITIONAL
    ) -> None:
        """Store `position` as the checkpoint when the transaction commits.

        With `expected` (a position, or None for "no checkpoint yet"), only
        if the stored checkpoint is still that one: otherwise the block
        raises `CheckpointFencedError` as it ends and everything written in
        it rolls back. Subscriptions pass the position they read from.
        """
        self.position = position
        self.expected = expected


async def save_checkpoint(
    driver: Driver,
    subscription_id: str,
    position: Position,
    *,
    expected: Position | Unconditional | None,
) -> None:
    """`EventStore.save_checkpoint` once its arguments are checked."""
    checked = driver.check_position(position)
    if expected is UNCONDITIONAL:
        await driver.save_checkpoint(subscription_id, checked)
        return
    condition = None if expected is None else driver.check_position(expected)
    outcome = await driver.save_checkpoint_if(subscription_id, checked, expected=condition)
    if isinstance(outcome, CheckpointFenced):
        raise CheckpointFencedError(subscription_id, expected=condition, actual=outcome.actual)


@asynccontextmanager
async def checkpoint_transaction(
    driver: Driver, subscription_id: str
) -> AsyncIterator[CheckpointTransaction]:
    """`EventStore.checkpoint_transaction` once its arguments are checked."""
    async with driver.transaction(subscription_id) as handle:
        unit = CheckpointTransaction(handle.connection)
        yield unit
        if unit.position is None:
            return
        position = driver.check_position(unit.position)
        expected = unit.expected
        if expected is UNCONDITIONAL:
            await handle.save_checkpoint(position)
            return
        condition = None if expected is None else driver.check_position(expected)
        outcome = await handle.save_checkpoint_if(position, expected=condition)
        if isinstance(outcome, CheckpointFenced):
            # Raised inside the driver's block: the transaction rolls back,
            # read-model writes and appends made in it included.
            raise CheckpointFencedError(subscription_id, expected=condition, actual=outcome.actual)
