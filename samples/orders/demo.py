"""`make demo SAMPLE=orders`: orders, stock and fulfilment on SQLite, told step by step.

Run it with ``python -m samples.orders.demo [path.db]``; without a path it
uses a fresh file in a temporary folder.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from pathlib import Path
from uuid import UUID

import structlog

from eventsourcing_kit import (
    EventStore,
    RecordedEvent,
    Repository,
    Subscription,
    SubscriptionRunner,
    connect,
)
from samples.orders import board, fulfilment
from samples.orders.orders import Order, OrderLine
from samples.orders.racing import RacingFulfilment
from samples.orders.stock import Stock, stock_id

STOCK = {"apple": 10, "pear": 3, "plum": 5}


def say(line: str = "") -> None:
    print(line, flush=True)


def short(stream_id: str) -> str:
    """`Order-1b2c3d4e-...` as `Order-1b2c3d4e`: enough to tell streams apart."""
    return stream_id[: stream_id.index("-") + 9]


async def run(path: Path) -> None:
    """The whole story on the SQLite file at `path`."""
    url = f"sqlite:///{path}"
    say(f"Orders demo on {url}")
    async with connect(url) as store:
        orders = Repository(Order, store)
        await restock(store)
        say("1. Stock added: " + ", ".join(f"{units} {sku}" for sku, units in STOCK.items()) + ".")

        projection, manager, runner = await start_subscriptions(store)
        say("2. The fulfilment process manager and the order board start.")

        ann = await place(orders, "Ann", {"apple": 4, "pear": 2}, correlation_id="checkout-ann")
        bob = await place(orders, "Bob", {"pear": 2}, correlation_id="checkout-bob")
        await settled(runner)
        say("3. Ann orders 4 apple and 2 pear: confirmed. One atomic append wrote")
        async for event in store.read_all(event_types=["OrderConfirmed", "StockReserved"]):
            if event.metadata.get("correlation_id") == "checkout-ann":
                say(f"   {short(event.stream_id):<15} v{event.version}  {event.event_type}")
        bob_order = await orders.load(bob)
        say(f"4. Bob orders 2 pear: {bob_order.status.value} ({bob_order.reason});")
        say("   nothing was reserved for him.")

        cleo = await place(orders, "Cleo", {"plum": 3}, correlation_id="checkout-cleo")
        await settled(runner)
        await orders.update(
            cleo,
            lambda order: order.cancel("changed her mind"),
            metadata={"correlation_id": "checkout-cleo"},
        )
        await settled(runner)
        plums = await Repository(Stock, store).load(stock_id("plum"))
        say(
            f"5. Cleo orders 3 plum, then cancels: her reservation is released "
            f"({plums.available} of {plums.on_hand} plum available)."
        )
        await runner.stop()

        await race(store, orders)
        projection, manager, runner = await start_subscriptions(store, projection)
        await settled(runner)
        await runner.stop()
        say(
            f"   The restarted manager sees both orders decided already: "
            f"{manager.confirmed + manager.rejected} new decisions."
        )

        say("7. Ann's checkout, followed through correlation and causation ids:")
        ids: dict[str, str] = {}
        async for event in store.read_all():
            if event.metadata.get("correlation_id") == "checkout-ann":
                ids[str(event.event_id)] = f"{event.event_type} of {short(event.stream_id)}"
                cause = ids.get(event.metadata.get("causation_id", ""), "the customer's request")
                say(f"   {event.event_type:<15} {short(event.stream_id):<15} caused by {cause}")

        say("8. The board (fed by its subscription) and the aggregates agree:")
        stock = Repository(Stock, store)
        for sku in STOCK:
            row = projection.stock[sku]
            loaded = await stock.load(stock_id(sku))
            say(
                f"   {sku:<6} board {row.available:>2} available of {row.on_hand:>2}, "
                f"aggregate {loaded.available:>2} of {loaded.on_hand:>2}"
            )
        for order_id in (ann, bob, cleo):
            order_row = projection.orders[Order.stream_id_for(order_id)]
            say(f"   {order_row.customer:<5} {order_row.items:<18} {order_row.status}")


async def restock(store: EventStore) -> None:
    stock = Repository(Stock, store)
    for sku, units in STOCK.items():
        item = Stock(id=stock_id(sku))
        item.add(sku, units)
        await stock.save(item, metadata={"correlation_id": "restock"})


async def place(
    orders: Repository[Order], customer: str, items: dict[str, int], *, correlation_id: str
) -> UUID:
    order = Order()
    order.place(customer, tuple(OrderLine(sku, units) for sku, units in items.items()))
    await orders.save(order, metadata={"correlation_id": correlation_id})
    return order.id


async def race(store: EventStore, orders: Repository[Order]) -> None:
    """Two fulfilment workers decide at once on the last apples."""
    dan = await place(orders, "Dan", {"apple": 4}, correlation_id="checkout-dan")
    eve = await place(orders, "Eve", {"apple": 4}, correlation_id="checkout-eve")
    placed: dict[str, RecordedEvent] = {}
    async for event in store.read_all(event_types=["OrderPlaced"]):
        placed[event.stream_id] = event
    both_read = asyncio.Barrier(2)
    workers = [RacingFulfilment(store, both_read), RacingFulfilment(store, both_read)]
    await asyncio.gather(
        workers[0](placed[Order.stream_id_for(dan)]), workers[1](placed[Order.stream_id_for(eve)])
    )
    apples = await Repository(Stock, store).load(stock_id("apple"))
    outcome = {
        customer: (await orders.load(order_id)).status.value
        for customer, order_id in (("Dan", dan), ("Eve", eve))
    }
    conflicts = sum(worker.conflicts for worker in workers)
    say("6. The subscriptions stop. Dan and Eve each order 4 apple; two fulfilment workers")
    say("   decide at once, both on the same 6 available apples. Both append atomically;")
    say(f"   {conflicts} append hit a ConcurrencyError on the apple stock and wrote nothing,")
    say(
        f"   and its worker decided again: Dan {outcome['Dan']}, Eve {outcome['Eve']}, "
        f"{apples.available} apple left."
    )


async def start_subscriptions(
    store: EventStore, projection: board.OrderBoard | None = None
) -> tuple[board.OrderBoard, fulfilment.Fulfilment, SubscriptionRunner]:
    projection = board.OrderBoard() if projection is None else projection
    manager = fulfilment.Fulfilment(store)
    runner = SubscriptionRunner(
        [
            Subscription(
                store, board.SUBSCRIPTION_ID, projection, event_types=projection.event_types
            ),
            Subscription(
                store, fulfilment.SUBSCRIPTION_ID, manager, event_types=fulfilment.EVENT_TYPES
            ),
        ]
    )
    await runner.start()
    return projection, manager, runner


async def settled(runner: SubscriptionRunner) -> None:
    """Wait until every subscription has handled everything stored so far.

    The manager's appends happen before its checkpoint moves, so once it has
    no lag, whatever it wrote is stored; then the board catches up.
    """
    for subscription in runner.subscriptions[::-1]:
        while (status := await subscription.status()).lag or status.state.name != "LIVE":  # noqa: ASYNC110
            await asyncio.sleep(0.005)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # An application configures logging; the library never does. Keep the
    # demo's output to its own story: warnings and errors only.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args:
        asyncio.run(run(Path(args[0]).resolve()))
        return 0
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder) / "orders.db"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
