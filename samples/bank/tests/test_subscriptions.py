"""The bank's read model and transfer process manager on the SQLite store."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import pytest

from eventsourcing_kit import EventStore, Repository, Subscription, connect, subscribe
from samples.bank import read_model, transfers
from samples.bank.domain import Account


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[EventStore]:
    async with connect(f"sqlite:///{tmp_path / 'bank.db'}") as opened:
        yield opened


async def until_caught_up(subscription: Subscription) -> None:
    while (status := await subscription.status()).lag or status.state.name != "LIVE":  # noqa: ASYNC110
        await asyncio.sleep(0.005)


async def opened(accounts: Repository[Account], owner: str, balance: int = 0) -> Account:
    account = Account()
    account.open(owner)
    if balance:
        account.deposit(balance)
    await accounts.save(account)
    return account


async def test_a_transfer_to_an_open_account_credits_it_once(store: EventStore) -> None:
    accounts = Repository(Account, store)
    ann, ben = await opened(accounts, "Ann", 100), await opened(accounts, "Ben")
    transfer = uuid4()
    await accounts.update(ann.id, lambda a: a.send_transfer(transfer, ben.id, 40))
    manager = transfers.TransferManager(accounts)
    subscription = subscribe(store, "t", manager, event_types=["TransferSent"])
    async with subscription:
        await until_caught_up(subscription)
    # Handing the same event over again (at-least-once) credits nothing more.
    await store.delete_checkpoint("t")
    async with subscription:
        await until_caught_up(subscription)
    assert ((await accounts.load(ann.id)).balance, (await accounts.load(ben.id)).balance) == (
        60,
        40,
    )
    assert (manager.completed, manager.refunded) == (2, 0)


async def test_a_transfer_to_a_closed_account_is_refunded(store: EventStore) -> None:
    accounts = Repository(Account, store)
    ann, cid = await opened(accounts, "Ann", 100), await opened(accounts, "Cid")
    await accounts.update(cid.id, lambda c: c.close())
    transfer = uuid4()
    await accounts.update(ann.id, lambda a: a.send_transfer(transfer, cid.id, 40))
    manager = transfers.TransferManager(accounts)
    subscription = subscribe(store, "t", manager, event_types=["TransferSent"])
    async with subscription:
        await until_caught_up(subscription)
    assert (await accounts.load(ann.id)).balance == 100
    assert (manager.completed, manager.refunded) == (0, 1)


async def test_the_read_model_agrees_with_the_aggregates(store: EventStore, tmp_path: Path) -> None:
    accounts = Repository(Account, store)
    ann, ben = await opened(accounts, "Ann", 100), await opened(accounts, "Ben", 5)
    await accounts.update(ann.id, lambda a: a.withdraw(30))
    projection = read_model.Balances()
    subscription = subscribe(
        store, "b", projection, event_types=projection.event_types, transactional=True
    )
    async with subscription:
        await until_caught_up(subscription)
    with sqlite3.connect(tmp_path / "bank.db") as connection:
        rows = read_model.balances(connection)
    assert rows == {ann.stream_id: ("Ann", 70, 3), ben.stream_id: ("Ben", 5, 2)}
