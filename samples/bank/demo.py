"""`make demo`: the bank on the embedded SQLite store, told step by step.

Run it with ``python -m samples.bank.demo [path.db]``; without a path it
uses a fresh file in a temporary folder.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from uuid import UUID, uuid4

import structlog

from eventsourcing_kit import EventStore, Repository, Subscription, SubscriptionRunner, connect
from samples.bank import read_model, transfers
from samples.bank.domain import Account, InsufficientFunds, money

SNAPSHOT_EVERY = 5


def say(line: str = "") -> None:
    print(line, flush=True)


async def run(path: Path) -> None:
    """The whole story on the SQLite file at `path` (an absolute path)."""
    url = f"sqlite:///{path}"
    say(f"Bank demo on {url}")
    async with connect(url) as store:
        accounts = Repository(Account, store, snapshot_every=SNAPSHOT_EVERY)
        alice, bob, carol = await open_accounts(accounts)
        await concurrent_updates(accounts, alice.id)
        await snapshots(accounts, bob.id)
        await refused_withdrawal(accounts, alice.id)

        say("5. The balances read model and the transfer process manager start,")
        projection, manager, runner = await start_subscriptions(store, accounts)
        await settled(runner)
        say(f"   catch up on history ({projection.handled} events) and go live.")
        to_bob, to_carol = uuid4(), uuid4()
        await accounts.update(alice.id, lambda a: a.send_transfer(to_bob, bob.id, 25_00))
        await accounts.update(alice.id, lambda a: a.send_transfer(to_carol, carol.id, 10_00))
        await settled(runner)
        say("   Alice sends 25.00 to Bob and 10.00 to Carol, whose account is closed:")
        say(f"   {manager.completed} transfer credited, {manager.refunded} refunded to Alice.")
        await runner.stop()
        handled_before = projection.handled

        say("6. The subscriptions stop (a deploy); meanwhile Bob deposits 5.00 and")
        say("   sends 30.00 to Alice. New subscriptions resume from their checkpoints:")
        back = uuid4()
        await accounts.update(bob.id, lambda b: b.deposit(5_00))
        await accounts.update(bob.id, lambda b: b.send_transfer(back, alice.id, 30_00))
        projection, manager, runner = await start_subscriptions(store, accounts)
        await settled(runner)
        await runner.stop()
        say(
            f"   the read model handles only the {projection.handled} new events (not the "
            f"{handled_before} before), and the manager credits Alice."
        )

        say("7. The global order, as every subscription reads it:")
        names = {a.stream_id: a.owner for a in (alice, bob, carol)}
        async for event in store.read_all():
            say(
                f"   #{event.position:<3} {names[event.stream_id]:<5} v{event.version:<3} "
                f"{event.event_type:<17} {summary(dict(event.data))}"
            )

        say("8. Balances, from the aggregates and from the read model:")
        with sqlite3.connect(path) as connection:
            rows = read_model.balances(connection)
        for account in (alice, bob, carol):
            loaded = await accounts.load(account.id)
            owner, balance, _ = rows[account.stream_id]
            say(
                f"   {owner:<5} {money(loaded.balance):>8} (v{loaded.version}), "
                f"read model {money(balance):>8}"
            )


async def open_accounts(accounts: Repository[Account]) -> tuple[Account, Account, Account]:
    alice, bob, carol = Account(), Account(), Account()
    alice.open("Alice")
    alice.deposit(100_00)
    bob.open("Bob")
    carol.open("Carol")
    carol.close("moved away")
    for account in (alice, bob, carol):
        await accounts.save(account)
    say("1. Opened accounts for Alice (100.00 deposited), Bob, and Carol (closed again);")
    say(f"   Alice's stream is {alice.stream_id}, at v{alice.version}.")
    return alice, bob, carol


async def concurrent_updates(accounts: Repository[Account], account_id: UUID) -> None:
    """Two processes deposit on one account at once: one must retry on fresh state.

    The second process is a second repository on the same store: updates
    through one repository are queued, not raced.
    """
    elsewhere = Repository(Account, accounts.store, snapshot_every=SNAPSHOT_EVERY)
    attempts = {"coffee": 0, "salary": 0}
    both_loaded = asyncio.Barrier(2)

    def deposit(label: str, amount: int) -> Callable[[Account], Awaitable[None]]:
        async def command(account: Account) -> None:
            attempts[label] += 1
            if attempts[label] == 1:
                await both_loaded.wait()  # both decide on the same version
            account.deposit(amount)

        return command

    await asyncio.gather(
        accounts.update(account_id, deposit("coffee", 3_50)),
        elsewhere.update(account_id, deposit("salary", 2_000_00)),
    )
    account = await accounts.load(account_id)
    retried = next(label for label, count in attempts.items() if count > 1)
    say("2. Two processes deposit on Alice's account at once (3.50 and 2000.00): both loaded v2;")
    say(f"   the {retried} deposit hit a ConcurrencyError and was re-run on fresh state")
    say(f"   ({attempts}); no update lost: {money(account.balance)} at v{account.version}.")


async def snapshots(accounts: Repository[Account], account_id: UUID) -> None:
    for tens in range(1, 8):
        await accounts.update(account_id, lambda account, n=tens: account.deposit(n * 10_00))
    account = await accounts.load(account_id)
    snapshot = await accounts.store.load_snapshot(account.stream_id)
    assert snapshot is not None
    say(
        f"3. Seven deposits (10.00 to 70.00) to Bob, with a snapshot every {SNAPSHOT_EVERY} events:"
    )
    say(
        f"   the snapshot is at v{snapshot.version} ({money(snapshot.data['balance'])}); "
        f"loading replays only v{snapshot.version + 1}..v{account.version} on top of it."
    )


async def refused_withdrawal(accounts: Repository[Account], account_id: UUID) -> None:
    try:
        await accounts.update(account_id, lambda account: account.withdraw(5_000_00))
    except InsufficientFunds as refused:
        account = await accounts.load(account_id)
        say(f"4. Alice withdrawing 5000.00 is refused ({refused});")
        say(f"   the command is not retried and nothing is written: still v{account.version}.")


async def start_subscriptions(
    store: EventStore, accounts: Repository[Account]
) -> tuple[read_model.Balances, transfers.TransferManager, SubscriptionRunner]:
    projection = read_model.Balances()
    manager = transfers.TransferManager(accounts)
    runner = SubscriptionRunner(
        [
            Subscription(
                store,
                read_model.SUBSCRIPTION_ID,
                projection,
                event_types=projection.event_types,
                transactional=True,
            ),
            Subscription(store, transfers.SUBSCRIPTION_ID, manager, event_types=["TransferSent"]),
        ]
    )
    await runner.start()
    return projection, manager, runner


async def settled(runner: SubscriptionRunner) -> None:
    """Wait until every subscription has handled everything stored so far.

    The manager's appends happen before its checkpoint moves, so once it has
    no lag, whatever it wrote is stored; then the read model catches up.
    """
    for subscription in runner.subscriptions[::-1]:
        # Polling status() is what an operator's health check would do too.
        while (status := await subscription.status()).lag or status.state.name != "LIVE":  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def summary(data: dict[str, object]) -> str:
    amount = data.get("amount")
    if isinstance(amount, int):
        return money(amount)
    return ", ".join(f"{key}={value}" for key, value in data.items() if "account" not in key)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # An application configures logging; the library never does. Keep the
    # demo's output to its own story: warnings and errors only.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args:
        asyncio.run(run(Path(args[0]).resolve()))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder) / "bank.db"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
