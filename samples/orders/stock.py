"""The stock aggregate: one SKU's units on hand and the orders holding some.

A reservation sets units aside for one order; they stay on hand (nothing has
shipped) but are no longer available to others. The rule: reservations
never exceed what is on hand. Reserving or releasing for an order twice
changes nothing, since the process manager that sends those commands may
see an event twice.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

import attrs

from eventsourcing_kit import Aggregate


class StockError(Exception):
    """A rule of the inventory refused a command."""


class OutOfStock(StockError):
    """A reservation larger than the units available."""


def stock_id(sku: str) -> UUID:
    """The id of a SKU's stock aggregate: derived from the SKU, so no lookup table."""
    return uuid5(NAMESPACE_URL, f"urn:eventsourcing-kit:orders-sample:sku:{sku}")


@attrs.frozen
class Reservation:
    order_id: UUID
    units: int


@attrs.frozen
class StockAdded:
    sku: str
    units: int


@attrs.frozen
class StockReserved:
    order_id: UUID
    units: int


@attrs.frozen
class ReservationReleased:
    order_id: UUID
    units: int


@attrs.define
class Stock(Aggregate):
    """The units of one SKU, and the reservations held on them."""

    event_types = (StockAdded, StockReserved, ReservationReleased)

    sku: str = ""
    on_hand: int = 0
    reservations: tuple[Reservation, ...] = ()

    @property
    def reserved(self) -> int:
        """Units set aside for orders."""
        return sum(reservation.units for reservation in self.reservations)

    @property
    def available(self) -> int:
        """Units that a new reservation may take."""
        return self.on_hand - self.reserved

    def reservation_for(self, order_id: UUID) -> Reservation | None:
        """The reservation held for `order_id`, if any."""
        return next((r for r in self.reservations if r.order_id == order_id), None)

    # --- commands -------------------------------------------------------------

    def add(self, sku: str, units: int) -> None:
        if units <= 0:
            raise StockError(f"units must be positive, got {units}")
        if self.sku and sku != self.sku:
            raise StockError(f"this is the stock of {self.sku!r}, not {sku!r}")
        self.record(StockAdded(sku, units))

    def reserve(self, order_id: UUID, units: int) -> None:
        if not self.sku:
            raise StockError("no stock was ever added for this SKU")
        if units <= 0:
            raise StockError(f"units must be positive, got {units}")
        if self.reservation_for(order_id) is not None:
            return  # already reserved for this order
        if units > self.available:
            raise OutOfStock(f"cannot reserve {units} x {self.sku}: {self.available} available")
        self.record(StockReserved(order_id, units))

    def release(self, order_id: UUID) -> None:
        reservation = self.reservation_for(order_id)
        if reservation is None:
            return  # nothing held, or released already
        self.record(ReservationReleased(order_id, reservation.units))

    # --- state ----------------------------------------------------------------

    def apply(self, event: object) -> None:
        match event:
            case StockAdded(sku=sku, units=units):
                self.sku = sku
                self.on_hand += units
            case StockReserved(order_id=order_id, units=units):
                self.reservations = (*self.reservations, Reservation(order_id, units))
            case ReservationReleased(order_id=order_id):
                self.reservations = tuple(r for r in self.reservations if r.order_id != order_id)
            case _:
                raise TypeError(f"Stock cannot apply {event!r}")
