"""The bank's rules as properties: whatever the commands, they always hold.

This file is the worked example of docs/testing.md.
"""

from __future__ import annotations

from uuid import UUID, uuid4

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from eventsourcing_kit.testing import (
    AggregateStateMachine,
    aggregates,
    command,
    commands,
    events,
    scenario,
)
from samples.bank.domain import (
    Account,
    AccountOpened,
    BankError,
    Deposited,
    InsufficientFunds,
    TransferRefunded,
    TransferSent,
    Withdrawn,
)


def texts(*, min_size: int = 0, max_size: int) -> st.SearchStrategy[str]:
    """Text an event can hold: every store refuses the NUL character."""
    return st.text(st.characters(exclude_characters="\x00"), min_size=min_size, max_size=max_size)


amounts = st.integers(min_value=-5, max_value=500)


class AccountMachine(AggregateStateMachine[Account]):
    """Random command sequences on one account, checked after every step.

    Besides the invariants below, the base class checks replay, versions,
    serialization, snapshots and that refused commands change nothing.
    """

    aggregate_type = Account
    domain_errors = (BankError,)

    def __init__(self) -> None:
        super().__init__()
        self.deposited = 0
        self.paid_out = 0
        self.sent: dict[UUID, int] = {}
        self.refunded: set[UUID] = set()

    @rule(owner=texts(min_size=1, max_size=10))
    def open(self, owner: str) -> None:
        self.run(lambda account: account.open(owner))

    @rule(amount=amounts)
    def deposit(self, amount: int) -> None:
        if self.run(lambda account: account.deposit(amount)) is None:
            self.deposited += amount

    @rule(amount=amounts)
    def withdraw(self, amount: int) -> None:
        if self.run(lambda account: account.withdraw(amount)) is None:
            self.paid_out += amount

    @rule(transfer_id=st.uuids(), amount=amounts, to_account=st.uuids())
    def send_transfer(self, transfer_id: UUID, amount: int, to_account: UUID) -> None:
        events_before = len(self.recorded)
        error = self.run(lambda account: account.send_transfer(transfer_id, to_account, amount))
        if transfer_id in self.sent:
            # A process manager may repeat the command: the second one is a no-op.
            assert len(self.recorded) == events_before, "a repeated transfer was sent twice"
        elif error is None:
            self.paid_out += amount
            self.sent[transfer_id] = amount

    @rule(transfer_id=st.uuids(), amount=amounts, from_account=st.uuids())
    def receive_transfer(self, transfer_id: UUID, amount: int, from_account: UUID) -> None:
        command = lambda account: account.receive_transfer(transfer_id, from_account, amount)  # noqa: E731
        if self.run(command) is None:
            self.deposited += amount

    @rule(data=st.data())
    def refund_transfer(self, data: st.DataObject) -> None:
        if not self.sent:
            return
        transfer_id = data.draw(st.sampled_from(sorted(self.sent)), label="transfer_id")
        amount = self.sent[transfer_id]
        events_before = len(self.recorded)
        error = self.run(lambda account: account.refund_transfer(transfer_id, amount))
        if transfer_id in self.refunded:
            # Refunds may be repeated by a process manager: only the first counts.
            assert len(self.recorded) == events_before, "a transfer was refunded twice"
        elif error is None:
            self.refunded.add(transfer_id)
            self.paid_out -= amount

    @rule(reason=texts(max_size=10))
    def close(self, reason: str) -> None:
        self.run(lambda account: account.close(reason))

    @invariant()
    def balance_is_never_negative(self) -> None:
        assert self.aggregate.balance >= 0

    @invariant()
    def balance_is_money_in_minus_money_out(self) -> None:
        assert self.aggregate.balance == self.deposited - self.paid_out


TestAccountMachine = AccountMachine.TestCase


# Whole command sequences at once: the same rules, without a state machine.
any_command = commands(
    command(Account.open, owner=st.just("Ann")),
    command(Account.deposit, amount=amounts),
    command(Account.withdraw, amount=amounts),
    command(Account.send_transfer, transfer_id=st.uuids(), amount=amounts),
    command(Account.close),
)


@given(aggregates(Account, commands=any_command, tolerate=(BankError,)))
def test_no_command_sequence_overdraws_an_account(account: Account) -> None:
    assert account.balance >= 0


@given(events(Deposited, amount=st.integers(1, 10_000)), st.integers(1, 10_000))
def test_a_withdrawal_above_the_balance_is_refused(deposit: Deposited, extra: int) -> None:
    scenario(Account).given(AccountOpened("Ann"), deposit).when(
        lambda account: account.withdraw(deposit.amount + extra)
    ).then_raises(InsufficientFunds)


def test_a_withdrawal_within_the_balance_is_recorded() -> None:
    account = (
        scenario(Account)
        .given(AccountOpened("Ann"), Deposited(10))
        .when(lambda account: account.withdraw(4))
        .then(Withdrawn(4))
    )
    assert account.balance == 6


def test_a_refund_gives_the_money_back() -> None:
    transfer_id, other = uuid4(), uuid4()
    account = (
        scenario(Account)
        .given(AccountOpened("Ann"), Deposited(10), TransferSent(transfer_id, other, 7))
        .when(lambda account: account.refund_transfer(transfer_id, 7))
        .then(TransferRefunded(transfer_id, 7))
    )
    assert account.balance == 10


def test_a_repeated_refund_records_nothing() -> None:
    transfer_id, other = uuid4(), uuid4()
    account = (
        scenario(Account)
        .given(
            AccountOpened("Ann"),
            Deposited(10),
            TransferSent(transfer_id, other, 7),
            TransferRefunded(transfer_id, 7),
        )
        .when(lambda account: account.refund_transfer(transfer_id, 7))
        .then()
    )
    assert account.balance == 10
