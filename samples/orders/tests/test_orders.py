"""The order's rules, one behaviour per test (given / when / then)."""

from __future__ import annotations

from eventsourcing_kit.testing import scenario
from samples.orders.orders import (
    Order,
    OrderCancelled,
    OrderConfirmed,
    OrderError,
    OrderLine,
    OrderPlaced,
    OrderRejected,
)

LINES = (OrderLine("apple", 2),)


def test_placing_an_order_records_its_lines() -> None:
    scenario(Order).when(lambda order: order.place("Ann", LINES)).then(OrderPlaced("Ann", LINES))


def test_an_order_needs_a_line() -> None:
    scenario(Order).when(lambda order: order.place("Ann", ())).then_raises(OrderError)


def test_an_order_names_each_sku_once() -> None:
    lines = (OrderLine("apple", 1), OrderLine("apple", 2))
    scenario(Order).when(lambda order: order.place("Ann", lines)).then_raises(OrderError)


def test_a_line_needs_a_positive_quantity() -> None:
    lines = (OrderLine("apple", 0),)
    scenario(Order).when(lambda order: order.place("Ann", lines)).then_raises(OrderError)


def test_a_placed_order_is_confirmed() -> None:
    scenario(Order).given(OrderPlaced("Ann", LINES)).when(Order.confirm).then(OrderConfirmed())


def test_confirming_again_records_nothing() -> None:
    scenario(Order).given(OrderPlaced("Ann", LINES), OrderConfirmed()).when(Order.confirm).then()


def test_rejecting_again_records_nothing() -> None:
    given = scenario(Order).given(OrderPlaced("Ann", LINES), OrderRejected("no stock"))
    given.when(lambda order: order.reject("no stock")).then()


def test_a_rejected_order_cannot_be_confirmed() -> None:
    given = scenario(Order).given(OrderPlaced("Ann", LINES), OrderRejected("no stock"))
    given.when(Order.confirm).then_raises(OrderError)


def test_a_confirmed_order_can_be_cancelled() -> None:
    given = scenario(Order).given(OrderPlaced("Ann", LINES), OrderConfirmed())
    given.when(lambda order: order.cancel("too late")).then(OrderCancelled("too late"))


def test_a_rejected_order_cannot_be_cancelled() -> None:
    given = scenario(Order).given(OrderPlaced("Ann", LINES), OrderRejected("no stock"))
    given.when(lambda order: order.cancel("why")).then_raises(OrderError)
