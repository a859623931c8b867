"""The orders sample's invariants as properties: whatever happens, they hold.

Two levels: each aggregate alone, with the kit's `AggregateStateMachine`
(which also checks replay, versions, serialization and snapshots after every
command); and the whole flow, orders and cancellations in any order with
every event delivered once or twice to the process manager and the board,
against a plain model of the stock.
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from eventsourcing_kit import Position, Repository, connect
from eventsourcing_kit.testing import AggregateStateMachine, aggregates, command, commands
from samples.orders import board, fulfilment
from samples.orders.orders import Order, OrderError, OrderLine, OrderStatus
from samples.orders.stock import Stock, StockError, stock_id

ORDER_IDS = [UUID(int=n) for n in range(1, 5)]
SKUS = ["apple", "pear", "plum"]


class StockMachine(AggregateStateMachine[Stock]):
    """Random restocks, reservations and releases on one SKU's stock."""

    aggregate_type = Stock
    domain_errors = (StockError,)

    def __init__(self) -> None:
        super().__init__()
        self.held: dict[UUID, int] = {}
        self.added = 0

    @rule(units=st.integers(-2, 10))
    def add(self, units: int) -> None:
        if self.run(lambda stock: stock.add("apple", units)) is None:
            self.added += units

    @rule(order_id=st.sampled_from(ORDER_IDS), units=st.integers(-1, 8))
    def reserve(self, order_id: UUID, units: int) -> None:
        if self.run(lambda stock: stock.reserve(order_id, units)) is None:
            self.held.setdefault(order_id, units)  # a repeat keeps the first reservation

    @rule(order_id=st.sampled_from(ORDER_IDS))
    def release(self, order_id: UUID) -> None:
        self.run(lambda stock: stock.release(order_id))
        self.held.pop(order_id, None)

    @invariant()
    def reservations_never_exceed_the_units_on_hand(self) -> None:
        assert 0 <= self.aggregate.reserved <= self.aggregate.on_hand

    @invariant()
    def each_order_holds_what_it_reserved_first(self) -> None:
        held = {r.order_id: r.units for r in self.aggregate.reservations}
        assert held == self.held
        assert self.aggregate.on_hand == self.added


TestStockMachine = StockMachine.TestCase

lines = st.lists(
    st.builds(OrderLine, st.sampled_from(SKUS), st.integers(-1, 4)), min_size=0, max_size=3
).map(tuple)


@given(
    aggregates(
        Order,
        commands=commands(
            command(Order.place, customer=st.sampled_from(["", "Ann"]), lines=lines),
            command(Order.confirm),
            command(Order.reject, reason=st.just("no stock")),
            command(Order.cancel, reason=st.just("changed mind")),
        ),
        tolerate=(OrderError,),
    )
)
def test_an_order_is_decided_at_most_once(order: Order) -> None:
    # aggregates() leaves the recorded events pending: they are its history.
    decisions = [type(e).__name__ for e in order.pending_events]
    assert decisions.count("OrderConfirmed") + decisions.count("OrderRejected") <= 1
    if order.status is not OrderStatus.NEW:
        assert order.customer and order.lines


# --- the whole flow ---------------------------------------------------------------

placements = st.dictionaries(st.sampled_from(SKUS), st.integers(1, 4), min_size=1, max_size=3)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("place"), placements),
        st.tuples(st.just("cancel"), st.integers(0, 7)),
    ),
    max_size=8,
)


@given(
    stock=st.fixed_dictionaries({sku: st.integers(0, 6) for sku in SKUS}),
    steps=steps,
    repeats=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_stock_and_orders_always_agree(
    stock: dict[str, int], steps: list[tuple[str, Any]], repeats: list[bool]
) -> None:
    asyncio.run(_check_flow(stock, steps, repeats))


async def _check_flow(
    stock: dict[str, int], steps: list[tuple[str, Any]], repeats: list[bool]
) -> None:
    async with connect("memory://") as store:
        orders, stocks = Repository(Order, store), Repository(Stock, store)
        for sku, units in stock.items():
            if units:
                item = Stock(id=stock_id(sku))
                item.add(sku, units)
                await stocks.save(item)
        delivery = _Delivery(store, repeats)
        model = _Model(dict(stock))
        placed: list[UUID] = []
        for step, argument in steps:
            if step == "place":
                order = Order()
                order.place("Ann", tuple(OrderLine(s, q) for s, q in argument.items()))
                await orders.save(order, metadata={"correlation_id": f"req-{len(placed)}"})
                placed.append(order.id)
                model.place(order.id, argument)
            elif placed:
                order_id = placed[argument % len(placed)]
                try:
                    await orders.update(order_id, lambda o: o.cancel("changed mind"))
                except OrderError:
                    continue
                model.cancel(order_id)
            await delivery.deliver()
        await delivery.deliver()  # the restock, when no step came

        for order_id in placed:
            assert (await orders.load(order_id)).status is model.status[order_id]
        for sku in SKUS:
            if not await stocks.exists(stock_id(sku)):
                continue
            item = await stocks.load(stock_id(sku))
            assert 0 <= item.reserved <= item.on_hand
            assert item.available == model.available[sku]
            for reservation in item.reservations:
                assert model.status[reservation.order_id] is OrderStatus.CONFIRMED
                assert reservation.units == model.lines[reservation.order_id][sku]
            assert delivery.board.stock[sku].available == item.available
        await _check_causation(store)


class _Delivery:
    """What the two subscriptions do, by hand: each event once, or twice."""

    def __init__(self, store: Any, repeats: list[bool]) -> None:
        self.manager = fulfilment.Fulfilment(store)
        self.board = board.OrderBoard()
        self.store = store
        self.repeats = repeats
        self.position: Position | None = None
        self.count = 0

    async def deliver(self) -> None:
        while batch := [e async for e in self.store.read_all(from_position=self.position)]:
            for record in batch:
                times = 2 if self.repeats[self.count % len(self.repeats)] else 1
                self.count += 1
                for _ in range(times):  # at-least-once: a repeat must change nothing
                    if record.event_type in fulfilment.EVENT_TYPES:
                        await self.manager(record)
                    await self.board(record)
                self.position = record.position


class _Model:
    """The stock as plain numbers, deciding orders in the order they were placed."""

    def __init__(self, available: dict[str, int]) -> None:
        self.available = available
        self.status: dict[UUID, OrderStatus] = {}
        self.lines: dict[UUID, dict[str, int]] = {}

    def place(self, order_id: UUID, lines: dict[str, int]) -> None:
        self.lines[order_id] = lines
        if all(units <= self.available[sku] for sku, units in lines.items()):
            for sku, units in lines.items():
                self.available[sku] -= units
            self.status[order_id] = OrderStatus.CONFIRMED
        else:
            self.status[order_id] = OrderStatus.REJECTED

    def cancel(self, order_id: UUID) -> None:
        if self.status[order_id] is OrderStatus.CONFIRMED:
            for sku, units in self.lines[order_id].items():
                self.available[sku] += units
        self.status[order_id] = OrderStatus.CANCELLED


async def _check_causation(store: Any) -> None:
    # Every event the manager wrote names an earlier event as its cause and
    # carries that cause's correlation id.
    seen: dict[str, Any] = {}
    async for event in store.read_all():
        cause_id = event.metadata.get("causation_id")
        if cause_id is not None:
            cause = seen[cause_id]
            assert event.metadata["correlation_id"] == cause.metadata.get(
                "correlation_id", str(cause.event_id)
            )
        seen[str(event.event_id)] = event
