"""The bank's rules, one behaviour per test."""

from __future__ import annotations

from uuid import uuid4

import pytest

from samples.bank.domain import (
    Account,
    AccountClosed,
    AccountOpened,
    BankError,
    Closed,
    Deposited,
    InsufficientFunds,
    InvalidAmount,
    TransferReceived,
    TransferRefunded,
    TransferSent,
    Withdrawn,
)


def opened(balance: int = 0) -> Account:
    account = Account()
    account.open("Ann")
    if balance:
        account.deposit(balance)
    account.pending_events.clear()
    return account


def test_opening_records_the_owner() -> None:
    account = Account()
    account.open("Ann")
    assert account.pending_events == [AccountOpened("Ann")]
    assert (account.owner, account.is_open, account.balance) == ("Ann", True, 0)


def test_an_account_opens_only_once() -> None:
    account = opened()
    with pytest.raises(BankError, match="already open"):
        account.open("Bob")


def test_a_deposit_raises_the_balance() -> None:
    account = opened()
    account.deposit(500)
    assert account.pending_events == [Deposited(500)]
    assert account.balance == 500


@pytest.mark.parametrize("amount", [0, -1])
def test_amounts_must_be_positive(amount: int) -> None:
    account = opened(100)
    with pytest.raises(InvalidAmount):
        account.deposit(amount)
    with pytest.raises(InvalidAmount):
        account.withdraw(amount)
    assert account.pending_events == []


def test_a_withdrawal_up_to_the_balance_is_allowed() -> None:
    account = opened(100)
    account.withdraw(100)
    assert account.pending_events == [Withdrawn(100)]
    assert account.balance == 0


def test_no_overdraft() -> None:
    account = opened(100)
    with pytest.raises(InsufficientFunds, match=r"cannot withdraw 1\.01: the balance is 1\.00"):
        account.withdraw(101)
    assert (account.balance, account.pending_events) == (100, [])


def test_a_closed_account_takes_no_deposits() -> None:
    account = opened(100)
    account.close("moved away")
    assert account.pending_events == [Closed("moved away")]
    with pytest.raises(AccountClosed):
        account.deposit(1)


def test_a_sent_transfer_leaves_the_balance_and_is_sent_once() -> None:
    account = opened(100)
    transfer, other = uuid4(), uuid4()
    account.send_transfer(transfer, other, 60)
    account.send_transfer(transfer, other, 60)
    assert account.pending_events == [TransferSent(transfer, other, 60)]
    assert account.balance == 40


def test_a_refund_returns_a_sent_transfer() -> None:
    account = opened(100)
    transfer = uuid4()
    account.send_transfer(transfer, uuid4(), 60)
    account.refund_transfer(transfer, 60)
    assert account.pending_events[-1] == TransferRefunded(transfer, 60)
    assert account.balance == 100


def test_only_a_sent_transfer_can_be_refunded() -> None:
    account = opened(100)
    with pytest.raises(BankError, match="was not sent"):
        account.refund_transfer(uuid4(), 10)


def test_a_transfer_is_received_once_however_often_it_is_delivered() -> None:
    account = opened()
    transfer, sender = uuid4(), uuid4()
    account.receive_transfer(transfer, sender, 30)
    account.receive_transfer(transfer, sender, 30)
    assert account.pending_events == [TransferReceived(transfer, sender, 30)]
    assert account.balance == 30


def test_a_transfer_is_refunded_once_however_often_it_is_asked() -> None:
    account = opened(100)
    transfer = uuid4()
    account.send_transfer(transfer, uuid4(), 60)
    account.refund_transfer(transfer, 60)
    account.refund_transfer(transfer, 60)
    assert account.pending_events[-1] == TransferRefunded(transfer, 60)
    assert len(account.pending_events) == 2
    assert account.balance == 100
