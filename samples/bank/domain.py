"""The bank's domain model: one aggregate, its events and its rules.

Amounts are integers in cents: money never goes through floats.
"""

from __future__ import annotations

from uuid import UUID

import attrs

from eventsourcing_kit import Aggregate, event_type


def money(cents: int) -> str:
    """Cents as a readable amount: 123456 -> '1234.56'."""
    return f"{cents / 100:.2f}"


class BankError(Exception):
    """A rule of the bank refused a command."""


class InsufficientFunds(BankError):
    """A withdrawal or transfer larger than the balance."""


class AccountClosed(BankError):
    """A command on a closed account."""


class InvalidAmount(BankError):
    """An amount that is zero or negative."""


@attrs.frozen
class AccountOpened:
    owner: str


@attrs.frozen
class Deposited:
    amount: int


@attrs.frozen
class Withdrawn:
    amount: int


@attrs.frozen
class TransferSent:
    transfer_id: UUID
    to_account: UUID
    amount: int


@attrs.frozen
class TransferReceived:
    transfer_id: UUID
    from_account: UUID
    amount: int


@attrs.frozen
class TransferRefunded:
    transfer_id: UUID
    amount: int


# The class was first called AccountShut: it keeps that stored name, so the
# events written before the rename still load.
@event_type("AccountShut")
@attrs.frozen
class Closed:
    reason: str = ""


@attrs.define
class Account(Aggregate):
    """A bank account that never goes below zero."""

    event_types = (
        AccountOpened,
        Deposited,
        Withdrawn,
        TransferSent,
        TransferReceived,
        TransferRefunded,
        Closed,
    )

    owner: str = ""
    balance: int = 0
    is_open: bool = False
    transfers_out: tuple[UUID, ...] = ()
    transfers_in: tuple[UUID, ...] = ()
    refunded: tuple[UUID, ...] = ()

    # --- commands -------------------------------------------------------------

    def open(self, owner: str) -> None:
        if self.version:
            raise BankError("the account is already open")
        self.record(AccountOpened(owner))

    def deposit(self, amount: int) -> None:
        self._check_usable(amount)
        self.record(Deposited(amount))

    def withdraw(self, amount: int) -> None:
        self._check_usable(amount)
        if amount > self.balance:
            raise InsufficientFunds(
                f"cannot withdraw {money(amount)}: the balance is {money(self.balance)}"
            )
        self.record(Withdrawn(amount))

    def send_transfer(self, transfer_id: UUID, to_account: UUID, amount: int) -> None:
        self._check_usable(amount)
        if transfer_id in self.transfers_out:
            return  # already sent: commands from a process manager may repeat
        if amount > self.balance:
            raise InsufficientFunds(
                f"cannot transfer {money(amount)}: the balance is {money(self.balance)}"
            )
        self.record(TransferSent(transfer_id, to_account, amount))

    def receive_transfer(self, transfer_id: UUID, from_account: UUID, amount: int) -> None:
        self._check_usable(amount)
        if transfer_id in self.transfers_in:
            return  # already received: the process manager is at-least-once
        self.record(TransferReceived(transfer_id, from_account, amount))

    def refund_transfer(self, transfer_id: UUID, amount: int) -> None:
        if transfer_id not in self.transfers_out:
            raise BankError(f"transfer {transfer_id} was not sent from this account")
        if transfer_id in self.refunded:
            return
        self.record(TransferRefunded(transfer_id, amount))

    def close(self, reason: str = "") -> None:
        if not self.is_open:
            raise AccountClosed("the account is not open")
        self.record(Closed(reason))

    def _check_usable(self, amount: int) -> None:
        if not self.is_open:
            raise AccountClosed("the account is not open")
        if amount <= 0:
            raise InvalidAmount(f"amount must be positive, got {money(amount)}")

    # --- state ----------------------------------------------------------------

    def apply(self, event: object) -> None:
        match event:
            case AccountOpened(owner=owner):
                self.owner = owner
                self.is_open = True
            case Deposited(amount=amount):
                self.balance += amount
            case TransferReceived(transfer_id=transfer_id, amount=amount):
                self.balance += amount
                self.transfers_in = (*self.transfers_in, transfer_id)
            case TransferRefunded(transfer_id=transfer_id, amount=amount):
                self.balance += amount
                self.refunded = (*self.refunded, transfer_id)
            case Withdrawn(amount=amount):
                self.balance -= amount
            case TransferSent(transfer_id=transfer_id, amount=amount):
                self.balance -= amount
                self.transfers_out = (*self.transfers_out, transfer_id)
            case Closed():
                self.is_open = False
            case _:
                raise TypeError(f"Account cannot apply {event!r}")
