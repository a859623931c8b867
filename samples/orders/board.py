"""The order board: a read model of orders and stock levels, fed by a subscription.

It is kept in memory, as a dashboard's cache would be, and rebuilt from the
log when the process starts. Delivery is at-least-once, so it remembers the
last version it applied of each stream and ignores an event it has seen:
applying the log twice gives the same board.
"""

from __future__ import annotations

from typing import Any

import attrs

from eventsourcing_kit import Projection, RecordedEvent, handles
from samples.orders.orders import (
    OrderCancelled,
    OrderConfirmed,
    OrderPlaced,
    OrderRejected,
)
from samples.orders.stock import ReservationReleased, StockAdded, StockReserved

SUBSCRIPTION_ID = "orders.board"


@attrs.frozen
class OrderRow:
    """One order as the board shows it."""

    customer: str
    items: str
    status: str
    correlation_id: str | None
    note: str = ""


@attrs.frozen
class StockRow:
    """One SKU's units on hand and reserved."""

    on_hand: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class OrderBoard(Projection):
    """Orders by stream id, and stock by SKU."""

    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[str, OrderRow] = {}
        self.stock: dict[str, StockRow] = {}
        self._skus: dict[str, str] = {}  # stock stream id -> SKU
        self._seen: dict[str, int] = {}  # stream id -> last version applied

    def _first_time(self, record: RecordedEvent) -> bool:
        if record.version <= self._seen.get(record.stream_id, 0):
            return False  # delivered again after a restart: already applied
        self._seen[record.stream_id] = record.version
        return True

    def _set_status(self, record: RecordedEvent, status: str, note: str = "") -> None:
        row = self.orders[record.stream_id]
        self.orders[record.stream_id] = attrs.evolve(row, status=status, note=note)

    def _move(self, record: RecordedEvent, *, on_hand: int = 0, reserved: int = 0) -> None:
        sku = self._skus[record.stream_id]
        row = self.stock[sku]
        self.stock[sku] = StockRow(row.on_hand + on_hand, row.reserved + reserved)

    @handles(OrderPlaced)
    async def placed(self, event: OrderPlaced, record: RecordedEvent) -> None:
        if self._first_time(record):
            items = ", ".join(f"{line.quantity} {line.sku}" for line in event.lines)
            correlation_id = record.metadata.get("correlation_id")
            self.orders[record.stream_id] = OrderRow(
                event.customer, items, "placed", correlation_id
            )

    @handles(OrderConfirmed)
    async def confirmed(self, event: OrderConfirmed, record: RecordedEvent) -> None:
        if self._first_time(record):
            self._set_status(record, "confirmed")

    @handles(OrderRejected)
    async def rejected(self, event: OrderRejected, record: RecordedEvent) -> None:
        if self._first_time(record):
            self._set_status(record, "rejected", event.reason)

    @handles(OrderCancelled)
    async def cancelled(self, event: OrderCancelled, record: RecordedEvent) -> None:
        if self._first_time(record):
            self._set_status(record, "cancelled", event.reason)

    @handles(StockAdded)
    async def added(self, event: StockAdded, record: RecordedEvent) -> None:
        if self._first_time(record):
            self._skus[record.stream_id] = event.sku
            self.stock.setdefault(event.sku, StockRow())
            self._move(record, on_hand=event.units)

    @handles(StockReserved)
    async def reserved(self, event: StockReserved, record: RecordedEvent) -> None:
        if self._first_time(record):
            self._move(record, reserved=event.units)

    @handles(ReservationReleased)
    async def released(self, event: ReservationReleased, record: RecordedEvent) -> None:
        if self._first_time(record):
            self._move(record, reserved=-event.units)

    def summary(self) -> dict[str, Any]:
        """The board as plain data: orders' statuses and each SKU's levels."""
        return {
            "orders": {stream: row.status for stream, row in self.orders.items()},
            "stock": {sku: (row.on_hand, row.reserved) for sku, row in self.stock.items()},
        }
