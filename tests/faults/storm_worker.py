"""One process of a storm: writers, a replica of a subscription, a consumer-group member.

Usage: python storm_worker.py URL SCHEMA [--writers FIRST COUNT STOP_FILE]
       [--replica TABLE HANG_AFTER] [--member TABLE PARTITIONS]

- ``--writers``: COUNT writer tasks, numbered from FIRST, each appending one
  event at a time to ``Account-{number}``, each event sent again under its
  own id after an error (written once), until the file STOP_FILE exists
  (a worker started again later stops with the others);
- ``--replica``: the transactional subscription ``projection`` (leased),
  writing each event id into TABLE through its checkpoint transaction;
  after HANG_AFTER events (0: never) it prints ``in-batch`` and hangs
  inside the open transaction, for the test to SIGKILL it there;
- ``--member``: a member of the self-balancing consumer group ``group``
  of PARTITIONS partitions, transactional, writing into TABLE.

It prints ``ready`` once its store is open, ``stopped-writing`` once its
writers have stopped, and runs until it is killed.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import structlog

from eventsourcing_kit import EventStore, NewEvent, RecordedEvent, connect, subscribe
from eventsourcing_kit.errors import StoreError
from eventsourcing_kit.subscriptions import HandlerContext, LeasePolicy, RetryPolicy, join_group

LEASE = LeasePolicy(ttl=1.0)
RETRY = RetryPolicy(initial_delay=0.02, max_delay=0.2)


async def write(store: EventStore, number: int, stop: Path) -> None:
    while not stop.exists():  # noqa: ASYNC240 - one stat per append: the stop signal
        event = NewEvent("Deposited", {"writer": number}, event_id=uuid4())
        while True:
            try:
                await store.append_events(f"Account-{number}", [event])
                break
            except StoreError:
                await asyncio.sleep(0.01)


def recorder(url: str, table: str, hang_after: int = 0) -> Any:
    handled = 0

    async def record(event: RecordedEvent, context: HandlerContext) -> None:
        nonlocal handled
        if url.startswith("sqlite"):
            context.connection.execute(
                f"INSERT INTO {table} (event_id) VALUES (?)", (str(event.event_id),)
            )
        else:
            await context.connection.execute(
                f"INSERT INTO {table} (event_id) VALUES ($1)", str(event.event_id)
            )
        handled += 1
        if handled == hang_after:
            print("in-batch", flush=True)
            await asyncio.sleep(3600)

    return record


async def replica(store: EventStore, url: str, table: str, hang_after: int) -> None:
    subscription = subscribe(
        store,
        "projection",
        recorder(url, table, hang_after),
        transactional=True,
        batch_size=20,
        retry=RETRY,
        lease=LEASE,
    )
    async with subscription:
        await asyncio.sleep(3600)


async def member(store: EventStore, url: str, table: str, partitions: int) -> None:
    joined = join_group(
        store,
        "group",
        recorder(url, table),
        partitions=partitions,
        transactional=True,
        batch_size=20,
        retry=RETRY,
        lease=LEASE,
    )
    await joined.run()


async def main(arguments: argparse.Namespace) -> None:
    url, schema = arguments.url, arguments.schema
    options: dict[str, Any] = {"schema": schema, "migrate": False} if schema else {}
    async with connect(url, **options) as store:
        runners: list[asyncio.Task[None]] = []
        if arguments.replica:
            table, hang_after = arguments.replica
            runners.append(asyncio.create_task(replica(store, url, table, int(hang_after))))
        if arguments.member:
            table, partitions = arguments.member
            runners.append(asyncio.create_task(member(store, url, table, int(partitions))))
        print("ready", flush=True)
        if arguments.writers:
            first, count, stop = arguments.writers
            await asyncio.gather(
                *(write(store, int(first) + n, Path(stop)) for n in range(int(count)))
            )
            print("stopped-writing", flush=True)
        await asyncio.gather(*runners)
        await asyncio.sleep(3600)  # writers only: stay until killed, like the others


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("schema")
    parser.add_argument("--writers", nargs=3, metavar=("FIRST", "COUNT", "STOP_FILE"))
    parser.add_argument("--replica", nargs=2, metavar=("TABLE", "HANG_AFTER"))
    parser.add_argument("--member", nargs=2, metavar=("TABLE", "PARTITIONS"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    # The worker is an application: its log lines go to stderr, stdout is the protocol.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    asyncio.run(main(parse(sys.argv[1:])))
