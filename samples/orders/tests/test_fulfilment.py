"""The fulfilment process manager and the board, on the memory store: one behaviour each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from eventsourcing_kit import ConcurrencyError, EventStore, RecordedEvent, Repository, connect
from samples.orders.appends import save_together
from samples.orders.board import OrderBoard
from samples.orders.fulfilment import Fulfilment
from samples.orders.orders import Order, OrderLine, OrderStatus
from samples.orders.racing import RacingFulfilment
from samples.orders.stock import Stock, stock_id


@pytest_asyncio.fixture
async def store() -> AsyncIterator[EventStore]:
    async with connect("memory://") as opened:
        stock = Repository(Stock, opened)
        for sku, units in {"apple": 5, "pear": 1}.items():
            item = Stock(id=stock_id(sku))
            item.add(sku, units)
            await stock.save(item)
        yield opened


async def place(store: EventStore, **items: int) -> Order:
    order = Order()
    order.place("Ann", tuple(OrderLine(sku, units) for sku, units in items.items()))
    await Repository(Order, store).save(order, metadata={"correlation_id": "req-1"})
    return order


async def last_of(store: EventStore, event_type: str) -> RecordedEvent:
    return [e async for e in store.read_all(event_types=[event_type])][-1]


async def test_a_placed_order_is_confirmed_with_its_stock_in_one_append(store: EventStore) -> None:
    order = await place(store, apple=2, pear=1)
    await Fulfilment(store)(await last_of(store, "OrderPlaced"))
    written = [e async for e in store.read_all()][-3:]
    assert [(e.stream_id, e.event_type) for e in written] == [
        (order.stream_id, "OrderConfirmed"),
        (Stock.stream_id_for(stock_id("apple")), "StockReserved"),
        (Stock.stream_id_for(stock_id("pear")), "StockReserved"),
    ]


async def test_an_order_beyond_the_stock_is_rejected_and_reserves_nothing(
    store: EventStore,
) -> None:
    order = await place(store, apple=2, pear=2)
    await Fulfilment(store)(await last_of(store, "OrderPlaced"))
    assert (await Repository(Order, store).load(order.id)).status is OrderStatus.REJECTED
    assert [e async for e in store.read_all(event_types=["StockReserved"])] == []


async def test_an_order_of_a_sku_never_stocked_is_rejected(store: EventStore) -> None:
    order = await place(store, plum=1)
    await Fulfilment(store)(await last_of(store, "OrderPlaced"))
    loaded = await Repository(Order, store).load(order.id)
    assert (loaded.status, loaded.reason) == (OrderStatus.REJECTED, "no stock of 'plum'")


async def test_what_the_manager_writes_carries_the_correlation_and_the_cause(
    store: EventStore,
) -> None:
    await place(store, apple=1)
    placed = await last_of(store, "OrderPlaced")
    await Fulfilment(store)(placed)
    for event_type in ("OrderConfirmed", "StockReserved"):
        written = await last_of(store, event_type)
        assert written.metadata["correlation_id"] == "req-1"
        assert written.metadata["causation_id"] == str(placed.event_id)


async def test_a_placement_delivered_twice_writes_once(store: EventStore) -> None:
    await place(store, apple=1)
    placed = await last_of(store, "OrderPlaced")
    manager = Fulfilment(store)
    await manager(placed)
    head = await store.head_position()
    await manager(placed)
    assert await store.head_position() == head


async def test_a_cancelled_order_releases_its_reservations(store: EventStore) -> None:
    order = await place(store, apple=3)
    manager = Fulfilment(store)
    await manager(await last_of(store, "OrderPlaced"))
    await Repository(Order, store).update(order.id, lambda o: o.cancel("changed mind"))
    await manager(await last_of(store, "OrderCancelled"))
    assert (await Repository(Stock, store).load(stock_id("apple"))).available == 5


async def test_a_stale_stock_version_writes_nothing_in_any_stream(store: EventStore) -> None:
    order = await place(store, apple=1)
    orders, stock = Repository(Order, store), Repository(Stock, store)
    apples = await stock.load(stock_id("apple"))
    apples.reserve(order.id, 1)
    order.confirm()
    await stock.update(stock_id("apple"), lambda s: s.add("apple", 1))  # another writer
    with pytest.raises(ConcurrencyError) as conflict:
        await save_together(store, [(orders, order), (stock, apples)], metadata={})
    assert conflict.value.stream_id == apples.stream_id
    assert await store.stream_version(order.stream_id) == 1  # the order's part was not written


async def test_two_managers_deciding_at_once_never_oversell(store: EventStore) -> None:
    first, second = await place(store, pear=1), await place(store, pear=1)
    placed = [e async for e in store.read_all(event_types=["OrderPlaced"])]
    both_read = asyncio.Barrier(2)  # both decide on the same version of the pear stock
    managers = [RacingFulfilment(store, both_read), RacingFulfilment(store, both_read)]
    await asyncio.gather(managers[0](placed[0]), managers[1](placed[1]))
    statuses = {(await Repository(Order, store).load(o.id)).status for o in (first, second)}
    assert statuses == {OrderStatus.CONFIRMED, OrderStatus.REJECTED}
    assert sum(manager.conflicts for manager in managers) == 1


async def test_the_board_ignores_an_event_delivered_twice(store: EventStore) -> None:
    board = OrderBoard()
    records = [e async for e in store.read_all()]
    for record in records + records:
        await board(record)
    assert board.stock["apple"].on_hand == 5
