"""`make demo`: the bank on the embedded SQLite store, told step by step.

Run it with ``python -m samples.bank.demo [path.db]``; without a path it
uses a fresh file in a temporary folder.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from pathlib import Path
from uuid import UUID, uuid4

import structlog

from eventsourcing_kit import Repository, connect
from samples.bank.domain import Account, InsufficientFunds

SNAPSHOT_EVERY = 5


def say(line: str = "") -> None:
    print(line, flush=True)


async def run(url: str) -> None:
    say(f"Bank demo on {url}")
    async with connect(url) as store:
        accounts = Repository(Account, store, snapshot_every=SNAPSHOT_EVERY)

        alice, bob = Account(), Account()
        alice.open("Alice")
        alice.deposit(100_00)
        bob.open("Bob")
        await accounts.save(alice)
        await accounts.save(bob)
        say(f"1. Opened Alice's account with 100.00 (stream {alice.stream_id}, v{alice.version})")
        say(f"   and Bob's account (v{bob.version})")

        await concurrent_updates(accounts, alice.id)
        await snapshots(accounts, bob.id)

        try:
            await accounts.update(alice.id, lambda account: account.withdraw(5_000_00))
        except InsufficientFunds as refused:
            fresh = await accounts.load(alice.id)
            say(f"4. Withdrawing 5000.00 from Alice was refused ({refused});")
            say(f"   nothing was written: she is still at v{fresh.version}")

        transfer = uuid4()
        await accounts.update(alice.id, lambda a: a.send_transfer(transfer, bob.id, 25_00))
        await accounts.update(bob.id, lambda b: b.receive_transfer(transfer, alice.id, 25_00))
        say("5. Transferred 25.00 from Alice to Bob")

        say("6. The global order, as a projection would read it:")
        async for event in store.read_all():
            say(
                f"   #{event.position:<3} {owner(event.stream_id, alice, bob):<5} "
                f"v{event.version:<3} "
                f"{event.event_type:<17} {dict(event.data)}"
            )
        final_alice, final_bob = await accounts.load(alice.id), await accounts.load(bob.id)
        say(
            f"Balances: Alice {final_alice.balance / 100:.2f} (v{final_alice.version}), "
            f"Bob {final_bob.balance / 100:.2f} (v{final_bob.version})"
        )


async def concurrent_updates(accounts: Repository[Account], account_id: UUID) -> None:
    """Two handlers deposit on one account at once: one must retry on fresh state."""
    attempts = {"coffee": 0, "salary": 0}
    both_loaded = asyncio.Barrier(2)

    def deposit(label: str, amount: int):  # type: ignore[no-untyped-def]
        async def command(account: Account) -> None:
            attempts[label] += 1
            if attempts[label] == 1:
                await both_loaded.wait()  # both decide on the same version
            account.deposit(amount)

        return command

    await asyncio.gather(
        accounts.update(account_id, deposit("coffee", 3_50)),
        accounts.update(account_id, deposit("salary", 2_000_00)),
    )
    account = await accounts.load(account_id)
    retried = [label for label, count in attempts.items() if count > 1]
    say("2. Two concurrent deposits on Alice's account (3.50 and 2000.00):")
    say(
        f"   both loaded v2; the {retried[0]} deposit hit a ConcurrencyError and was retried "
        f"on fresh state (attempts: {attempts})"
    )
    say(f"   no update lost: balance {account.balance / 100:.2f} at v{account.version}")


async def snapshots(accounts: Repository[Account], account_id: UUID) -> None:
    for amount in range(1, 8):
        await accounts.update(
            account_id, lambda account, amount=amount: account.deposit(amount * 10_00)
        )
    account = await accounts.load(account_id)
    snapshot = await accounts.store.load_snapshot(account.stream_id)
    assert snapshot is not None
    say(f"3. Seven deposits (10.00 to 70.00) to Bob: a snapshot every {SNAPSHOT_EVERY} events")
    say(
        f"   snapshot at v{snapshot.version} (balance {snapshot.data['balance'] / 100:.2f}); "
        f"loading replayed only v{snapshot.version + 1}..v{account.version} on top of it"
    )


def owner(stream_id: str, *accounts: Account) -> str:
    return next((a.owner for a in accounts if a.stream_id == stream_id), "?")


def sqlite_url(path: Path) -> str:
    # sqlite:/// + an absolute path gives the four slashes of an absolute file.
    return f"sqlite:///{path.resolve()}"


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # An application configures logging; the library never does. Keep the
    # demo's output to its own story: warnings and errors only.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args:
        asyncio.run(run(sqlite_url(Path(args[0]))))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(sqlite_url(Path(folder) / "bank.db")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
