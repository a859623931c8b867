"""The stock's rules, one behaviour per test (given / when / then)."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing_kit.testing import scenario
from samples.orders.stock import (
    OutOfStock,
    ReservationReleased,
    Stock,
    StockAdded,
    StockError,
    StockReserved,
    stock_id,
)

ORDER = uuid4()


def test_a_sku_has_one_stock_id() -> None:
    assert stock_id("apple") == stock_id("apple") != stock_id("pear")


def test_a_reservation_within_the_available_units_is_recorded() -> None:
    stock = (
        scenario(Stock)
        .given(StockAdded("apple", 5))
        .when(lambda stock: stock.reserve(ORDER, 3))
        .then(StockReserved(ORDER, 3))
    )
    assert (stock.on_hand, stock.available) == (5, 2)


def test_a_reservation_beyond_the_available_units_is_refused() -> None:
    given = scenario(Stock).given(StockAdded("apple", 5), StockReserved(uuid4(), 3))
    given.when(lambda stock: stock.reserve(ORDER, 3)).then_raises(OutOfStock)


def test_reserving_again_for_the_same_order_records_nothing() -> None:
    given = scenario(Stock).given(StockAdded("apple", 5), StockReserved(ORDER, 3))
    given.when(lambda stock: stock.reserve(ORDER, 3)).then()


def test_a_sku_never_stocked_cannot_be_reserved() -> None:
    scenario(Stock).when(lambda stock: stock.reserve(ORDER, 1)).then_raises(StockError)


def test_releasing_gives_the_units_back() -> None:
    stock = (
        scenario(Stock)
        .given(StockAdded("apple", 5), StockReserved(ORDER, 3))
        .when(lambda stock: stock.release(ORDER))
        .then(ReservationReleased(ORDER, 3))
    )
    assert stock.available == 5


def test_releasing_what_is_not_held_records_nothing() -> None:
    scenario(Stock).given(StockAdded("apple", 5)).when(lambda stock: stock.release(ORDER)).then()


def test_stock_of_one_sku_refuses_units_of_another() -> None:
    given = scenario(Stock).given(StockAdded("apple", 5))
    given.when(lambda stock: stock.add("pear", 1)).then_raises(StockError)
