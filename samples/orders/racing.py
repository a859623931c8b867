"""Two fulfilment workers that decide at the same moment, on the same stock.

Concurrency is hard to show on purpose: this worker waits, once, after
loading a stock, until its rival has loaded it too, so both decide on the
same version and exactly one append meets a `ConcurrencyError`. The demo
and the tests use it; a real deployment runs `Fulfilment` as it is.
"""

from __future__ import annotations

import asyncio

from eventsourcing_kit import EventStore
from samples.orders import fulfilment
from samples.orders.stock import Stock


class RacingFulfilment(fulfilment.Fulfilment):
    """A fulfilment worker that waits, once, until its rival has read the stock too."""

    def __init__(self, store: EventStore, both_read: asyncio.Barrier) -> None:
        super().__init__(store)
        self._both_read: asyncio.Barrier | None = both_read

    async def stock_of(self, sku: str) -> Stock:
        stock = await super().stock_of(sku)
        if self._both_read is not None:
            barrier, self._both_read = self._both_read, None
            await barrier.wait()  # both decide on the same version of the stock
        return stock
