"""``eventsourcing-kit index``: run a DynamoDB store's indexer on its own, until stopped.

The global order of a DynamoDB store is built by an indexer (see
docs/dynamodb.md); every store opened with ``indexer=True`` runs one, and
this command is the same indexer without an application around it: a
replica to deploy beside writers that run none. Several may run; one is
active at a time, by lease. SIGINT or SIGTERM hands the lease over and exits.
"""

from __future__ import annotations

import asyncio
import signal

import click

from eventsourcing_kit.cli._common import Output, require_url, run, store_options
from eventsourcing_kit.errors import ConfigurationError

__all__ = ["index"]


@click.command()
@store_options()
@click.option(
    "--lease-ttl",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds an indexer that stopped answering keeps the lease.",
)
def index(url: str | None, as_json: bool, lease_ttl: float) -> None:
    """Run the global-order indexer of a DynamoDB store until stopped.

    Tails the table's stream and builds the store's global order, as the
    indexer of a store opened with indexer=True does; one of all running
    indexers is active, by lease. AWS credentials come from the standard
    chain. Stop it with SIGINT or SIGTERM: it hands its lease to a standby
    indexer at once.
    """
    url = require_url(url)
    if url.partition("://")[0].lower() != "dynamodb":
        raise ConfigurationError(
            f"only a DynamoDB store has an indexer: give a dynamodb:// URL, not {url!r}"
        )
    run(_index(url, lease_ttl, Output(as_json=as_json)))


async def _index(url: str, lease_ttl: float, output: Output) -> None:
    from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    store = await DynamoDBEventStore.open(url, migrate=False, indexer=True, lease_ttl=lease_ttl)
    if output.as_json:
        output.json({"indexing": store.table})
    else:
        output.line(f"indexing {store.table} until stopped")
    try:
        await stop.wait()
    finally:
        await store.close()
