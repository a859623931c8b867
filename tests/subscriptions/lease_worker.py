"""A leased subscription in its own process, to be killed while it is the active runner.

Usage: python lease_worker.py URL SCHEMA TTL

It runs the subscription ``leased`` with a `LeasePolicy` of TTL seconds,
prints ``active`` once it holds the lease, and runs until it is killed.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import structlog

from eventsourcing_kit import RecordedEvent, connect, subscribe
from eventsourcing_kit.subscriptions import LeasePolicy, SubscriptionState


async def main(url: str, schema: str, ttl: float) -> None:
    options: dict[str, Any] = {"schema": schema, "migrate": False} if schema else {}
    async with connect(url, **options) as store:

        async def handler(event: RecordedEvent) -> None:
            pass

        subscription = subscribe(store, "leased", handler, lease=LeasePolicy(ttl=ttl))
        async with subscription:
            while subscription.state is not SubscriptionState.LIVE:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            print("active", flush=True)
            await asyncio.sleep(3600)


if __name__ == "__main__":
    # The worker is an application: its log lines go to stderr, stdout is the protocol.
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    url, schema, ttl = sys.argv[1:4]
    asyncio.run(main(url, schema, float(ttl)))
