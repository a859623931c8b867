"""A transactional subscription in its own process, to be killed mid-transaction.

Usage: python exactly_once_worker.py URL SCHEMA TABLE HANG_AT_VERSION

Its handler writes each event id into TABLE through the checkpoint
transaction's connection. On the event at HANG_AT_VERSION (0: none) it
prints ``in-transaction`` after writing and then hangs, still inside the
open transaction, for the test to SIGKILL it there. Without a hang it prints
``live`` once caught up, and exits.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import structlog

from eventsourcing_kit import RecordedEvent, connect, subscribe
from eventsourcing_kit.subscriptions import HandlerContext, SubscriptionState


async def main(url: str, schema: str, table: str, hang_at: int) -> None:
    options: dict[str, Any] = {"schema": schema, "migrate": False} if schema else {}
    async with connect(url, **options) as store:

        async def handler(event: RecordedEvent, context: HandlerContext) -> None:
            if url.startswith("sqlite"):
                context.connection.execute(
                    f"INSERT INTO {table} (event_id) VALUES (?)", (str(event.event_id),)
                )
            else:
                await context.connection.execute(
                    f"INSERT INTO {table} (event_id) VALUES ($1)", str(event.event_id)
                )
            if event.version == hang_at:
                print("in-transaction", flush=True)
                await asyncio.sleep(3600)

        subscription = subscribe(store, "exactly-once", handler, transactional=True, batch_size=4)
        async with subscription:
            while subscription.state is not SubscriptionState.LIVE:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        print("live", flush=True)


if __name__ == "__main__":
    # The worker is an application: its log lines go to stderr, stdout is the protocol.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    url, schema, table, hang_at = sys.argv[1:5]
    asyncio.run(main(url, schema, table, int(hang_at)))
