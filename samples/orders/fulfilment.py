"""The fulfilment process manager: reserve an order's stock, or reject the order.

It follows `OrderPlaced` and `OrderCancelled` in the global order:

- on `OrderPlaced`, it loads the order and the stock of each line and
  reserves every line. When all can be reserved, the reservations and
  `OrderConfirmed` are appended in **one atomic step** (`append_many`) over
  the order's stream and each stock's: no order is ever confirmed without
  its stock, and no stock is held for an unconfirmed order. When a line
  cannot be reserved, only `OrderRejected` is written.
- on `OrderCancelled`, it releases the order's reservations.

If another writer moved one of those streams in between (an order for the
same SKU, a restock, a cancellation), the append raises `ConcurrencyError`,
nothing is written, and the manager decides again on fresh state.

Every event it writes carries the `correlation_id` of the event it reacts to
and, as `causation_id`, that event's id: the log tells which placement led
to which reservation. Delivery is at-least-once; the commands are
idempotent, so handling an event twice writes nothing the second time.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import structlog

from eventsourcing_kit import (
    AggregateNotFound,
    ConcurrencyError,
    EventStore,
    RecordedEvent,
    Repository,
)
from samples.orders.appends import save_together
from samples.orders.orders import Order, OrderCancelled, OrderPlaced, OrderStatus
from samples.orders.stock import OutOfStock, Stock, StockError, stock_id

SUBSCRIPTION_ID = "orders.fulfilment"
EVENT_TYPES = ["OrderPlaced", "OrderCancelled"]
MAX_ATTEMPTS = 10

logger = structlog.get_logger(__name__)


def caused_by(record: RecordedEvent) -> dict[str, Any]:
    """The metadata of an event written in reaction to `record`."""
    correlation_id = record.metadata.get("correlation_id", str(record.event_id))
    return {"correlation_id": correlation_id, "causation_id": str(record.event_id)}


class Fulfilment:
    """The handler of the fulfilment subscription (``event_types=EVENT_TYPES``)."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.orders = Repository(Order, store)
        self.stock = Repository(Stock, store)
        self.confirmed = 0
        self.rejected = 0
        self.released = 0
        self.conflicts = 0

    async def __call__(self, record: RecordedEvent) -> None:
        event = self.orders.events.decode(record)
        order_id = UUID(record.stream_id.partition("-")[2])
        for _attempt in range(MAX_ATTEMPTS):
            try:
                if isinstance(event, OrderPlaced):
                    await self._reserve(order_id, caused_by(record))
                elif isinstance(event, OrderCancelled):
                    await self._release(order_id, caused_by(record))
                return
            except ConcurrencyError as conflict:
                # Someone else wrote to one of the streams: decide again.
                self.conflicts += 1
                logger.info("concurrent write; deciding again", stream_id=conflict.stream_id)
        raise RuntimeError(f"order {order_id}: still conflicting after {MAX_ATTEMPTS} attempts")

    async def _reserve(self, order_id: UUID, metadata: dict[str, Any]) -> None:
        order = await self.orders.load(order_id)
        if order.status is not OrderStatus.PLACED:
            return  # decided already (a repeat delivery), or cancelled meanwhile
        stocks: list[Stock] = []
        try:
            for line in order.lines:
                stock = await self.stock_of(line.sku)
                stock.reserve(order.id, line.quantity)
                stocks.append(stock)
        except StockError as refused:
            order.reject(str(refused))
            await self.orders.save(order, metadata=metadata)
            self.rejected += 1
            return
        order.confirm()
        await save_together(
            self.store,
            [(self.orders, order), *((self.stock, stock) for stock in stocks)],
            metadata=metadata,
        )
        self.confirmed += 1

    async def _release(self, order_id: UUID, metadata: dict[str, Any]) -> None:
        order = await self.orders.load(order_id)
        stocks = []
        for line in order.lines:
            stock = await self.stock_of(line.sku)
            stock.release(order.id)
            stocks.append(stock)
        if any(stock.pending_events for stock in stocks):
            await save_together(self.store, [(self.stock, s) for s in stocks], metadata=metadata)
            self.released += 1

    async def stock_of(self, sku: str) -> Stock:
        """The stock of `sku`, loaded; `OutOfStock` when none was ever added."""
        try:
            return await self.stock.load(stock_id(sku))
        except AggregateNotFound:
            raise OutOfStock(f"no stock of {sku!r}") from None
