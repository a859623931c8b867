"""A read model of balances, kept in the store's own SQLite file, exactly once.

The projection runs with ``transactional=True``: its writes go through the
connection of the transaction that also stores its checkpoint, so a crash
can never count an event twice or lose one.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from eventsourcing_kit import HandlerContext, Projection, RecordedEvent, handles
from samples.bank.domain import (
    AccountOpened,
    Deposited,
    TransferReceived,
    TransferRefunded,
    TransferSent,
    Withdrawn,
)

SUBSCRIPTION_ID = "bank.balances"

# The read model's own table; a real application would migrate it with its
# other tables. It lives in the event store's file so that it commits with
# the subscription's checkpoint.
CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS account_balances (
    account TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    balance INTEGER NOT NULL,
    events INTEGER NOT NULL
)
"""


class Balances(Projection):
    """Each account's owner, balance and number of events seen."""

    def __init__(self) -> None:
        super().__init__()
        self.handled = 0

    def _connection(self, context: HandlerContext) -> sqlite3.Connection:
        connection = context.connection
        assert isinstance(connection, sqlite3.Connection), "run this on the SQLite store"
        return connection

    def _add(self, context: HandlerContext, record: RecordedEvent, amount: int) -> None:
        self._connection(context).execute(
            "UPDATE account_balances SET balance = balance + ?, events = events + 1 "
            "WHERE account = ?",
            (amount, record.stream_id),
        )
        self.handled += 1

    @handles(AccountOpened)
    async def opened(self, event: AccountOpened, record: RecordedEvent, context: Any) -> None:
        connection = self._connection(context)
        connection.execute(CREATE_TABLE)
        connection.execute(
            "INSERT INTO account_balances VALUES (?, ?, 0, 1)", (record.stream_id, event.owner)
        )
        self.handled += 1

    @handles(Deposited, TransferReceived, TransferRefunded)
    async def credited(self, event: Any, record: RecordedEvent, context: Any) -> None:
        self._add(context, record, event.amount)

    @handles(Withdrawn, TransferSent)
    async def debited(self, event: Any, record: RecordedEvent, context: Any) -> None:
        self._add(context, record, -event.amount)


def balances(connection: sqlite3.Connection) -> dict[str, tuple[str, int, int]]:
    """The read model's rows: account -> (owner, balance, events)."""
    try:
        rows = connection.execute(
            "SELECT account, owner, balance, events FROM account_balances ORDER BY owner"
        ).fetchall()
    except sqlite3.OperationalError:  # no account opened yet: no table
        return {}
    return {account: (owner, balance, count) for account, owner, balance, count in rows}
