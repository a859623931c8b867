"""The active runner for takeover.py, in a process of its own, to be SIGKILLed.

Usage: python _takeover_worker.py SPEC_JSON  ({"url", "options", "ttl"}; ttl
null for the default `LeasePolicy`). Prints ``active`` once its leased
subscription delivers, then runs until it is killed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from typing import Any

import structlog

from eventsourcing_kit import RecordedEvent, SubscriptionState, connect, subscribe
from eventsourcing_kit.subscriptions import LeasePolicy


async def nothing(event: RecordedEvent) -> None:
    pass


async def main(spec: dict[str, Any]) -> None:
    lease = LeasePolicy() if spec["ttl"] is None else LeasePolicy(ttl=spec["ttl"])
    async with connect(spec["url"], **spec["options"]) as store:
        subscription = subscribe(store, "takeover", nothing, lease=lease)
        async with subscription:
            while subscription.state is not SubscriptionState.LIVE:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            print("active", flush=True)
            await asyncio.sleep(3600)


if __name__ == "__main__":
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(main(json.loads(sys.argv[1])))
