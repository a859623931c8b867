"""The order aggregate: what a customer asked for, and what became of it.

An order is placed, then either confirmed (every line's stock is reserved)
or rejected (some line cannot be reserved) by the fulfilment process
manager; a placed or confirmed order may be cancelled. Commands that the
process manager may repeat (confirm, reject) are idempotent.
"""

from __future__ import annotations

import enum

import attrs

from eventsourcing_kit import Aggregate


class OrderError(Exception):
    """A rule of the orders domain refused a command."""


class OrderStatus(enum.Enum):
    """Where an order is in its life."""

    NEW = "new"
    PLACED = "placed"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


@attrs.frozen
class OrderLine:
    """So many units of one SKU."""

    sku: str
    quantity: int


@attrs.frozen
class OrderPlaced:
    customer: str
    lines: tuple[OrderLine, ...]


@attrs.frozen
class OrderConfirmed:
    """Every line's units are reserved in stock."""


@attrs.frozen
class OrderRejected:
    reason: str


@attrs.frozen
class OrderCancelled:
    reason: str


@attrs.define
class Order(Aggregate):
    """A customer's order of one or more SKUs."""

    event_types = (OrderPlaced, OrderConfirmed, OrderRejected, OrderCancelled)

    customer: str = ""
    lines: tuple[OrderLine, ...] = ()
    status: OrderStatus = OrderStatus.NEW
    reason: str = ""

    # --- commands -------------------------------------------------------------

    def place(self, customer: str, lines: tuple[OrderLine, ...]) -> None:
        if self.status is not OrderStatus.NEW:
            raise OrderError("the order is already placed")
        if not customer:
            raise OrderError("an order needs a customer")
        if not lines:
            raise OrderError("an order needs at least one line")
        skus = [line.sku for line in lines]
        if len(set(skus)) != len(skus):
            raise OrderError("an order names each SKU once")
        if any(not line.sku or line.quantity <= 0 for line in lines):
            raise OrderError("each line needs a SKU and a positive quantity")
        self.record(OrderPlaced(customer, tuple(lines)))

    def confirm(self) -> None:
        if self.status is OrderStatus.CONFIRMED:
            return  # the process manager is at-least-once: a repeat is a no-op
        if self.status is not OrderStatus.PLACED:
            raise OrderError(f"a {self.status.value} order cannot be confirmed")
        self.record(OrderConfirmed())

    def reject(self, reason: str) -> None:
        if self.status is OrderStatus.REJECTED:
            return
        if self.status is not OrderStatus.PLACED:
            raise OrderError(f"a {self.status.value} order cannot be rejected")
        self.record(OrderRejected(reason))

    def cancel(self, reason: str) -> None:
        if self.status not in (OrderStatus.PLACED, OrderStatus.CONFIRMED):
            raise OrderError(f"a {self.status.value} order cannot be cancelled")
        self.record(OrderCancelled(reason))

    # --- state ----------------------------------------------------------------

    def apply(self, event: object) -> None:
        match event:
            case OrderPlaced(customer=customer, lines=lines):
                self.customer = customer
                self.lines = lines
                self.status = OrderStatus.PLACED
            case OrderConfirmed():
                self.status = OrderStatus.CONFIRMED
            case OrderRejected(reason=reason):
                self.status = OrderStatus.REJECTED
                self.reason = reason
            case OrderCancelled(reason=reason):
                self.status = OrderStatus.CANCELLED
                self.reason = reason
            case _:
                raise TypeError(f"Order cannot apply {event!r}")
