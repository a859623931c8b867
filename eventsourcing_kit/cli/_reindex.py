"""``eventsourcing-kit reindex``: index a DynamoDB store's events that the indexer never saw.

For the one case the indexer cannot recover from by itself: every indexer
was down for longer than the 24 hours DynamoDB Streams keep records, so the
records of the events stored meanwhile are gone. See docs/dynamodb.md.
"""

from __future__ import annotations

import click

from eventsourcing_kit.cli._common import Output, require_url, run, store_options
from eventsourcing_kit.errors import ConfigurationError

__all__ = ["reindex"]


@click.command()
@store_options()
@click.option(
    "--lease-ttl",
    type=float,
    default=10.0,
    show_default=True,
    help="Seconds the indexer's lease stays held if this command dies.",
)
def reindex(url: str | None, as_json: bool, lease_ttl: float) -> None:
    """Give every stored event of a DynamoDB store without a global position one.

    Scans the whole table (it reads every item: a cost in read capacity)
    and appends the events it finds to the global order after the current
    watermark, each stream in version order. A running indexer stands by
    meanwhile and resumes afterwards. Run it after every indexer was down
    for longer than the stream's 24-hour retention.
    """
    url = require_url(url)
    if url.partition("://")[0].lower() != "dynamodb":
        raise ConfigurationError(
            f"only a DynamoDB store has an indexer to rebuild: give a dynamodb:// URL, not {url!r}"
        )
    run(_reindex(url, lease_ttl, Output(as_json=as_json)))


async def _reindex(url: str, lease_ttl: float, output: Output) -> None:
    from eventsourcing_kit.stores.dynamodb import DynamoDBEventStore

    store = await DynamoDBEventStore.open(url, migrate=False, indexer=False)
    try:
        done = await store.reindex(lease_ttl=lease_ttl)
    finally:
        await store.close()
    if output.as_json:
        output.json(
            {"table": store.table, "events": done.events, "first": done.first, "last": done.last}
        )
    elif done.events:
        output.line(f"indexed {done.events} events at positions {done.first} to {done.last}")
    else:
        output.line("every stored event has a global position: nothing to index")
