"""``eventsourcing-kit index``: run a DynamoDB store's indexer on its own, until stopped.

The global order of a DynamoDB store is built by an indexer (see
docs/dynamodb.md); every store opened with ``indexer=True`` runs one, and
this command is the same indexer without an application around it: a
replica to deploy beside writers that run none. Several may run; one is
active at a time, by lease. SIGINT or SIGTERM hands the lease over and exits.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from eventsourcing_kit.errors import ConfigurationError

__all__ = ["register"]


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``index`` command to the parser's subcommands."""
    parser = commands.add_parser(
        "index",
        help="run the global-order indexer of a DynamoDB store until stopped",
        description=(
            "Tail the table's stream and build the store's global order, as the indexer of "
            "a store opened with indexer=True does; one of all running indexers is active, "
            "by lease. AWS credentials come from the standard chain. Stop it with SIGINT or "
            "SIGTERM: it hands its lease to a standby indexer at once."
        ),
    )
    parser.add_argument(
        "--url", required=True, help="the store: dynamodb://table?endpoint_url=...&region=..."
    )
    parser.add_argument(
        "--lease-ttl",
        type=float,
        default=10.0,
        help="seconds an indexer that stopped answering keeps the lease (default 10)",
    )
    parser.set_defaults(run=run)


def run(arguments: argparse.Namespace) -> int:
    if arguments.url.partition("://")[0].lower() != "dynamodb":
        raise ConfigurationError(
            f"only a DynamoDB store has an indexer: give a dynamodb:// URL, not {arguments.url!r}"
        )
    asyncio.run(_index(arguments.url, arguments.lease_ttl))
    return 0


async def _index(url: str, lease_ttl: float) -> None:
    from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    store = await DynamoDBEventStore.open(url, migrate=False, indexer=True, lease_ttl=lease_ttl)
    print(f"indexing {store.table} until stopped", flush=True)
    try:
        await stop.wait()
    finally:
        await store.close()
